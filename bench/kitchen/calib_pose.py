# Per-frame colour-camera pose corrections on top of a calibration from calib.py (K, extrinsic, time offsets kept fixed):
# 6 DoF per frame (frame 0 fixed), fitted with per-frame gain/bias on the same photometric objective. If the sensor depth
# and the photos then agree, the given (KinectFusion) poses are what MVS trips on.
#   python3 bench/kitchen/calib_pose.py tmp/s7/fit_time12.npy tmp/s7/fit_pose.npy [sigma]
import sys, time
import numpy as np
from scipy.optimize import least_squares
from scipy.sparse import lil_matrix
from scipy.spatial.transform import Rotation as Rot
from scipy.ndimage import gaussian_filter, map_coordinates
src = open('bench/kitchen/calib.py').read().split('NG = 12')[0]
sys_argv = sys.argv; sys.argv = ['calib.py', sys_argv[3] if len(sys_argv) > 3 else '1.5']
exec(src)
sys.argv = sys_argv
p = np.load(sys.argv[1]); out = sys.argv[2]
fx, fy, cx, cy = p[:4]; Rcd = Rot.from_rotvec(p[4:7]).as_matrix(); tcd = p[7:10]
assert not np.any(p[10:12])
delta = p[12:12 + N] if len(p) == 12 + 3 * N else np.zeros(N)
g0 = p[-2 * N:-N]; b0 = p[-N:]
base = []
for i in range(N):
    R, t = pose_at(i, delta[i]); Rwc = R @ Rcd.T; base.append((Rwc, t - Rwc @ tcd))

def cams(x):
    res = []
    for i in range(N):
        c = x[6 * i:6 * i + 6]; Rwc, twc = base[i]
        dR = Rot.from_rotvec(c[:3]).as_matrix()
        res.append((Rwc @ dR, twc + Rwc @ c[3:]))
    return res

def residuals(x):
    C = cams(x); gain = np.exp(x[6 * N:7 * N]); bias = x[7 * N:8 * N]
    out_ = []
    for (i, j), m in zip(pairs, masks):
        X = PW[i][m]; vals = []
        for k in (i, j):
            Rwc, twc = C[k]; Xc = (X - twc) @ Rwc
            u = Xc[:, 0] / Xc[:, 2] * fx + cx; v = Xc[:, 1] / Xc[:, 2] * fy + cy
            vals.append(map_coordinates(blur[k], [v, u], order=1, mode='nearest') * gain[k] + bias[k])
        out_.append(vals[0] - vals[1])
    return np.concatenate(out_)

P = 8 * N
sp = lil_matrix((sum(sizes), P), dtype=int); row = 0
for (i, j), s in zip(pairs, sizes):
    for k in (i, j):
        sp[row:row + s, 6 * k:6 * k + 6] = 1; sp[row:row + s, 6 * N + k] = 1; sp[row:row + s, 7 * N + k] = 1
    row += s
x0 = np.zeros(P); x0[6 * N:7 * N] = g0; x0[7 * N:] = b0
lb = np.full(P, -np.inf); ub = np.full(P, np.inf)
for k in [0, 1, 2, 3, 4, 5, 6 * N, 7 * N]: lb[k] = x0[k] - 1e-9; ub[k] = x0[k] + 1e-9
xs = np.ones(P); xs[:6 * N] = 0.002; xs[6 * N:7 * N] = 0.01
r0 = residuals(x0); print('start robust mean |r|', np.minimum(np.abs(r0), 40).mean(), flush=True)
t0 = time.time()
res = least_squares(residuals, x0, jac_sparsity=sp, loss='huber', f_scale=4.0, x_scale=xs, bounds=(lb, ub), max_nfev=int(__import__('os').environ.get('NFEV', '30')), verbose=1)
print('time', time.time() - t0)
r1 = residuals(res.x); print('end robust mean |r| (blurred)', np.minimum(np.abs(r1), 40).mean())
corr = res.x[:6 * N].reshape(N, 6)
print('rotation corrections deg median/max', np.degrees(np.median(np.linalg.norm(corr[:, :3], axis=1))), np.degrees(np.linalg.norm(corr[:, :3], axis=1).max()))
print('translation corrections mm median/max', 1000 * np.median(np.linalg.norm(corr[:, 3:], axis=1)), 1000 * np.linalg.norm(corr[:, 3:], axis=1).max())
np.save(out, res.x)
