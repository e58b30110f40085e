# Usage: python3 bench/kitchen/probe.py plain | fit tmp/s7/fit_time12.npy [tmp/s7/fit_pose.npy]   (env FLAT=1: reference points away from depth
# edges; TEX=150: stronger texture). Sources: the 4 frames farthest from the reference. Prints where the photo-consistent
# depth lies relative to the sensor depth.
# Where is the photo-consistent depth relative to the sensor depth? 1-D NCC search along each colour ray, s in 0.8..1.2 of
# the reference depth, 4 sources (i+-4, i+-8), 7x7 fronto-parallel window, under a camera model (plain or fitted).
import sys, json
import numpy as np
from scipy.ndimage import map_coordinates
exec(open('bench/kitchen/calib.py').read().split('# Sample points')[0].replace('SIGMA = float(sys.argv[1]) if len(sys.argv) > 1 else 1.5', 'SIGMA = 0'))
from scipy.spatial.transform import Rotation as Rot
mode = sys.argv[1]
if mode == 'plain':
    fx = fy = 525.0; cx, cy = 320.0, 240.0; Rcd = np.eye(3); tcd = np.zeros(3); delta = np.zeros(N)
else:
    p = np.load(sys.argv[2]); fx, fy, cx, cy = p[:4]; Rcd = Rot.from_rotvec(p[4:7]).as_matrix(); tcd = p[7:10]
    assert not np.any(p[10:12]), 'radial distortion: not modelled here'
    delta = p[12:12 + N] if len(p) == 12 + 3 * N else np.zeros(N)
CORR = np.load(sys.argv[3])[:6 * N].reshape(N, 6) if len(sys.argv) > 3 else np.zeros((N, 6))  # calib_pose.py's
def cam(i):
    R, t = pose_at(i, delta[i])  # depth cam -> world at colour time
    Rwc = R @ Rcd.T; twc = t - Rwc @ tcd  # colour cam -> world
    return Rwc @ Rot.from_rotvec(CORR[i, :3]).as_matrix(), twc + Rwc @ CORR[i, 3:]
S = np.linspace(0.8, 1.2, 81)
off = np.array([(a, b) for a in range(-3, 4) for b in range(-3, 4)], float)
allr, alln = [], []
for i in range(0, N, 2):
    srcs = list(np.argsort(-np.linalg.norm(tw - tw[i], axis=1))[:4])
    Rwc, twc = cam(i)
    # reference points from sensor depth i
    d = depth[i]; yy, xx = np.mgrid[12:H - 12:8, 12:W - 12:8]; yy = yy.ravel(); xx = xx.ravel()
    z = d[yy, xx]
    nb = np.stack([d[np.clip(yy + a, 0, H - 1), np.clip(xx + b, 0, W - 1)] for a in range(-6, 7, 2) for b in range(-6, 7, 2)])
    flat = (nb.min(0) > 0) & (nb.max(0) - nb.min(0) < 0.03 * z) if __import__('os').environ.get('FLAT') else True
    ok = (z > 0.3) & flat; yy, xx, z = yy[ok], xx[ok], z[ok]
    R0, t0 = pose_at(i, 0.0)
    Xw = np.stack([(xx - 320) / 585 * z, (yy - 240) / 585 * z, z], 1) @ R0.T + t0
    Xc = (Xw - twc) @ Rwc  # in colour cam i
    u = Xc[:, 0] / Xc[:, 2] * fx + cx; v = Xc[:, 1] / Xc[:, 2] * fy + cy; zc = Xc[:, 2]
    keep = (u > 5) & (v > 5) & (u < W - 5) & (v < H - 5); u, v, zc = u[keep], v[keep], zc[keep]
    ref = map_coordinates(grey[i], [v[:, None] + off[None, :, 1], u[:, None] + off[None, :, 0]], order=1)  # P x 49
    refc = ref - ref.mean(1, keepdims=True); refn = np.sqrt((refc ** 2).sum(1)) + 1e-6
    score = np.zeros((len(u), len(S))); cnt = np.zeros((len(u), len(S)))
    wu = u[:, None] + off[None, :, 0]; wv = v[:, None] + off[None, :, 1]
    rays = np.stack([(wu - cx) / fx, (wv - cy) / fy, np.ones_like(wu)], -1)  # P x 49 x 3
    for j in srcs:
        Rj, tj = cam(j)
        for k, s in enumerate(S):
            Xk = rays * (s * zc)[:, None, None]
            Xw_ = Xk @ Rwc.T + twc
            Xj = (Xw_ - tj) @ Rj
            uj = Xj[..., 0] / Xj[..., 2] * fx + cx; vj = Xj[..., 1] / Xj[..., 2] * fy + cy
            inb = (uj.min(1) > 0) & (vj.min(1) > 0) & (uj.max(1) < W - 1) & (vj.max(1) < H - 1)
            smp = map_coordinates(grey[j], [vj, uj], order=1, mode='nearest')
            sc = smp - smp.mean(1, keepdims=True)
            ncc = (sc * refc).sum(1) / (np.sqrt((sc ** 2).sum(1)) + 1e-6) / refn
            score[:, k] += np.where(inb, ncc, 0); cnt[:, k] += inb
    m = score / np.maximum(cnt, 1)
    best = m.argmax(1); bs = m[np.arange(len(best)), best]
    good = (bs > 0.8) & (cnt.min(1) >= 3) & (best > 0) & (best < len(S) - 1) & (refn > float(__import__("os").environ.get("TEX","40")))
    allr.append(S[best[good]]); alln.append(len(u))
r = np.concatenate(allr)
print(f'{mode}: points {sum(alln)}, confident {len(r)}; median s* {np.median(r):.4f}; |s*-1|<0.01 {np.mean(np.abs(r-1)<0.01):.3f}, <0.03 {np.mean(np.abs(r-1)<0.03):.3f}, <0.1 {np.mean(np.abs(r-1)<0.1):.3f}; mean |s*-1| {np.mean(np.abs(r-1)):.4f}')
