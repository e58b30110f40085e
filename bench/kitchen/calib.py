# 7-Scenes redkitchen: a photometric colour-camera calibration against the sensor depth (session 12, issue 7).
# Fits the colour camera's fx, fy, cx, cy, its pose in the depth camera (rotation, translation), optionally radial
# distortion (k1, k2) and per-frame colour time offsets (fraction of a frame, pose interpolated), plus per-frame gain and
# bias, so that the colour of each sensor-depth point agrees between frames 4 and 8 apart (Huber, scipy least_squares).
#   npx tsx bench/kitchen/dump.ts                                   # tmp/s7: grey images, depth, poses
#   python3 bench/kitchen/calib.py 1.5 [--time] [--distortion] [--out=tmp/s7/fit_time.npy]   # ~2-3 min on 2 cores
import json, sys, time
import numpy as np
from scipy.ndimage import gaussian_filter, map_coordinates
from scipy.optimize import least_squares
from scipy.sparse import lil_matrix
from scipy.spatial.transform import Rotation as Rot

H, W = 480, 640
meta = json.load(open('tmp/s7/poses.json'))
N = len(meta['frames'])
grey = np.fromfile('tmp/s7/grey.f32', dtype=np.float32).reshape(N, H, W)
depth = np.fromfile('tmp/s7/depth.u16', dtype=np.uint16).reshape(N, H, W).astype(np.float64) / 1000.0
depth[depth >= 65.535] = 0
Twd = np.array(meta['poses']).reshape(N, 4, 4)  # depth camera -> world
KD = np.array([[585, 0, 320], [0, 585, 240], [0, 0, 1.0]])
SIGMA = float(sys.argv[1]) if len(sys.argv) > 1 else 1.5
FIT_TIME = '--time' in sys.argv
OUTFILE = next((a[len('--out='):] for a in sys.argv if a.startswith('--out=')), 'tmp/s7/fit.npy')
blur = np.stack([gaussian_filter(g, SIGMA) for g in grey]) if SIGMA > 0 else grey

def orth(R):
    u, _, vt = np.linalg.svd(R); return u @ vt
Rw = np.stack([orth(T[:3, :3]) for T in Twd]); tw = Twd[:, :3, 3].copy()
rots = Rot.from_matrix(Rw)

def pose_at(i, d):
    s = i + d; k = int(np.clip(np.floor(s), 0, N - 2)); a = s - k
    rel = (rots[k].inv() * rots[k + 1]).as_rotvec()
    R = (rots[k] * Rot.from_rotvec(a * rel)).as_matrix()
    return R, (1 - a) * tw[k] + a * tw[k + 1]

# Sample points: depth frame i, every STEP px, valid and away from depth edges.
STEP = 6
ys, xs = np.mgrid[0:H:STEP, 0:W:STEP]; ys = ys.ravel(); xs = xs.ravel()
def points(i):
    d = depth[i]
    dmax = np.maximum.reduce([np.roll(np.roll(d, a, 0), b, 1) for a in (-2, 0, 2) for b in (-2, 0, 2)])
    dmin = np.minimum.reduce([np.roll(np.roll(d, a, 0), b, 1) for a in (-2, 0, 2) for b in (-2, 0, 2)])
    z = d[ys, xs]; ok = (z > 0.3) & (dmin[ys, xs] > 0) & (dmax[ys, xs] - dmin[ys, xs] < 0.02 * z)
    x, y, z = xs[ok], ys[ok], z[ok]
    Xd = np.stack([(x - 320) / 585 * z, (y - 240) / 585 * z, z], 1)
    return Xd @ Rw[i].T + tw[i]
PW = [points(i) for i in range(N)]

pairs = [(i, i + o) for o in (4, 8) for i in range(N - o)]
# Visibility of i's points in depth frame j (exact sensor geometry), fixed once.
masks = []
for i, j in pairs:
    Xd = (PW[i] - tw[j]) @ Rw[j]
    u = Xd[:, 0] / Xd[:, 2] * 585 + 320; v = Xd[:, 1] / Xd[:, 2] * 585 + 240
    inb = (Xd[:, 2] > 0.2) & (u > 20) & (v > 20) & (u < W - 20) & (v < H - 20)
    dj = np.zeros(len(u)); dj[inb] = depth[j][np.round(v[inb]).astype(int), np.round(u[inb]).astype(int)]
    masks.append(inb & (np.abs(dj - Xd[:, 2]) < 0.03 * Xd[:, 2]))
sizes = [int(m.sum()) for m in masks]
print('pairs', len(pairs), 'residuals', sum(sizes), flush=True)

NG = 12  # fx, fy, cx, cy, rotvec(3), t(3), k1, k2
def unpack(p):
    fx, fy, cx, cy = p[:4]; Rcd = Rot.from_rotvec(p[4:7]).as_matrix(); tcd = p[7:10]; global K12; K12 = p[10:12]
    delta = p[NG:NG + N] if FIT_TIME else np.zeros(N)
    off = NG + (N if FIT_TIME else 0)
    gain = np.exp(p[off:off + N]); bias = p[off + N:off + 2 * N]
    return fx, fy, cx, cy, Rcd, tcd, delta, gain, bias

def project(Xw, i, fx, fy, cx, cy, Rcd, tcd, delta):
    R, t = pose_at(i, delta[i])
    Xc = ((Xw - t) @ R) @ Rcd.T + tcd
    x = Xc[:, 0] / Xc[:, 2]; y = Xc[:, 1] / Xc[:, 2]; r2 = x * x + y * y; f = 1 + K12[0] * r2 + K12[1] * r2 * r2
    return x * f * fx + cx, y * f * fy + cy

def residuals(p, img=None, clip=None):
    img = blur if img is None else img
    fx, fy, cx, cy, Rcd, tcd, delta, gain, bias = unpack(p)
    out = []
    for (i, j), m in zip(pairs, masks):
        X = PW[i][m]
        ui, vi = project(X, i, fx, fy, cx, cy, Rcd, tcd, delta)
        uj, vj = project(X, j, fx, fy, cx, cy, Rcd, tcd, delta)
        a = map_coordinates(img[i], [vi, ui], order=1, mode='nearest') * gain[i] + bias[i]
        b = map_coordinates(img[j], [vj, uj], order=1, mode='nearest') * gain[j] + bias[j]
        r = a - b
        out.append(r if clip is None else np.minimum(np.abs(r), clip))
    return np.concatenate(out)

nT = N if FIT_TIME else 0
P = NG + nT + 2 * N
p0 = np.zeros(P); p0[:4] = [525, 525, 320, 240]
sp = lil_matrix((sum(sizes), P), dtype=int)
row = 0
for (i, j), s in zip(pairs, sizes):
    sp[row:row + s, :NG] = 1
    for k in (i, j):
        if FIT_TIME: sp[row:row + s, NG + k] = 1
        sp[row:row + s, NG + nT + k] = 1; sp[row:row + s, NG + nT + N + k] = 1
    row += s
# frame 0's gain/bias fixed: bounds
lb = np.full(P, -np.inf); ub = np.full(P, np.inf)
lb[NG + nT] = -1e-9; ub[NG + nT] = 1e-9; lb[NG + nT + N] = -1e-9; ub[NG + nT + N] = 1e-9
if FIT_TIME: lb[NG:NG + N] = -1.5; ub[NG:NG + N] = 1.5
if '--distortion' not in sys.argv: lb[10:12] = -1e-12; ub[10:12] = 1e-12
def report(p, tag):
    r = residuals(p, grey, 40)
    print(f'{tag}: mean |grey diff| {r.mean():.3f} (clip 40), blurred-robust cost', flush=True)
report(p0, 'initial 525/320/240, no extrinsic')
p0b = p0.copy(); p0b[:2] = 585; report(p0b, 'depth K 585')
xs_ = np.ones(P); xs_[:4] = 10; xs_[4:7] = 0.01; xs_[7:10] = 0.01; xs_[10:12] = 0.05
if FIT_TIME: xs_[NG:NG + N] = 0.1
xs_[NG + nT:NG + nT + N] = 0.01; xs_[NG + nT + N:] = 1
t0 = time.time()
res = least_squares(residuals, p0, jac_sparsity=sp, loss='huber', f_scale=4.0, x_scale=xs_, bounds=(lb, ub), max_nfev=int(__import__("os").environ.get("NFEV","60")), verbose=1)
print('time', time.time() - t0)
fx, fy, cx, cy, Rcd, tcd, delta, gain, bias = unpack(res.x)
print('k1 k2', res.x[10:12]); print('K', fx, fy, cx, cy, 'rotvec deg', np.degrees(res.x[4:7]), 't mm', tcd * 1000)
if FIT_TIME: print('delta', np.round(delta, 2))
report(res.x, 'fitted')
np.save(OUTFILE, res.x)
