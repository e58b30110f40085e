# Usage: python3 bench/kitchen/derive.py tmp/s7/fit_time12.npy tmp/s7/calib [tmp/s7/fit_pose.npy] && npx tsx bench/kitchen/write.ts tmp/s7/calib .cache/captures/kitchen-calib
# A derived 7-Scenes capture in the fitted colour camera: poses = depth pose at colour time x colour-from-depth
# extrinsic, intrinsics = fitted colour K, sensor depth z-buffered into each colour camera (mm, 0 = missing).
import sys, json, os
import numpy as np
exec(open('bench/kitchen/calib.py').read().split('# Sample points')[0].replace('SIGMA = float(sys.argv[1]) if len(sys.argv) > 1 else 1.5', 'SIGMA = 0'))
from scipy.spatial.transform import Rotation as Rot
p = np.load(sys.argv[1]); out = sys.argv[2]
CORR = np.load(sys.argv[3])[:6 * N].reshape(N, 6) if len(sys.argv) > 3 else np.zeros((N, 6))  # calib_pose.py's
fx, fy, cx, cy = p[:4]; Rcd = Rot.from_rotvec(p[4:7]).as_matrix(); tcd = p[7:10]
assert not np.any(p[10:12]), 'radial distortion: not modelled here'
delta = p[12:12 + N] if len(p) == 12 + 3 * N else np.zeros(N)
os.makedirs(out, exist_ok=True)
yy, xx = np.mgrid[0:H, 0:W]
deps = np.zeros((N, H, W), np.uint16); poses = []
for i in range(N):
    R, t = pose_at(i, delta[i]); Rwc = R @ Rcd.T; twc = t - Rwc @ tcd
    twc = twc + Rwc @ CORR[i, 3:]; Rwc = Rwc @ Rot.from_rotvec(CORR[i, :3]).as_matrix()
    T = np.eye(4); T[:3, :3] = Rwc; T[:3, 3] = twc; poses.append(T.ravel().tolist())
    d = depth[i]; ok = d > 0
    z = d[ok]; X = np.stack([(xx[ok] - 320) / 585 * z, (yy[ok] - 240) / 585 * z, z], 1)
    R0, t0 = pose_at(i, 0.0)
    Xw = X @ R0.T + t0; Xc = (Xw - twc) @ Rwc
    u = np.round(Xc[:, 0] / Xc[:, 2] * fx + cx).astype(int); v = np.round(Xc[:, 1] / Xc[:, 2] * fy + cy).astype(int)
    zc = Xc[:, 2]; k = (u >= 0) & (v >= 0) & (u < W) & (v < H) & (zc > 0.1)
    buf = np.full(H * W, np.inf); np.minimum.at(buf, v[k] * W + u[k], zc[k])
    mm = np.where(np.isfinite(buf), np.round(buf * 1000), 0).clip(0, 65534).astype(np.uint16)
    deps[i] = mm.reshape(H, W)
deps.tofile(out + '/depth.u16')
json.dump({'frames': meta['frames'], 'poses': poses, 'K': [fx, 0, cx, 0, fy, cy, 0, 0, 1]}, open(out + '/meta.json', 'w'))
print('holes', float(np.mean(deps == 0)), 'orig holes', float(np.mean(depth == 0)))
