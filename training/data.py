"""Procedural multi-view scenes, generated and rendered on the GPU by our own code (no third-party data).

A scene: up to 4 spheres and 4 rotated boxes, a displaced height-field floor (sum of sinusoids, ray-marched then
bisected), sometimes the inside of a room (a box seen from within), each with a solid procedural texture (value-noise
fbm, colour mixes, hashed cells, some nearly textureless). Lambert shading with a random light; per view an exposure
gain, white balance, gamma and sensor noise. Cameras: a reference on an orbit around a target and 4 sources at 3-30
degrees from it (orbit steps) or translated sideways (forward-facing), random focal lengths, principal points and
roll. Depth is exact (analytic ray casting; the height field to float precision by bisection).
Camera convention as the app: camFromWorld [R|t] (OpenCV axes), K with pixel centres at integer coordinates.
"""
import math
import torch

NS, NB = 4, 4  # sphere and box slots
OBJ_FLOOR, OBJ_ROOM = NS + NB, NS + NB + 1
NOBJ = NS + NB + 2
NEAR = 0.05


def _u(g, shape, lo, hi, dev):
    return torch.rand(shape, generator=g, device=dev) * (hi - lo) + lo


def random_rotations(g, n, dev):
    q = torch.randn(n, 4, generator=g, device=dev)
    q = q / q.norm(dim=1, keepdim=True)
    w, x, y, z = q.unbind(1)
    return torch.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
        2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
        2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], 1).reshape(n, 3, 3)


def look_at(eye, target, roll):
    """camFromWorld [...,3,4] for cameras at eye looking at target (world y up, image y down), rolled by `roll`."""
    z = target - eye
    z = z / z.norm(dim=-1, keepdim=True)
    up = torch.tensor([0.0, 1.0, 0.0], device=eye.device).expand_as(z)
    x = torch.cross(z, up, dim=-1)
    x = x / x.norm(dim=-1, keepdim=True).clamp(min=1e-8)
    y = torch.cross(z, x, dim=-1)
    c, s = torch.cos(roll)[..., None], torch.sin(roll)[..., None]
    x, y = c * x + s * y, -s * x + c * y
    R = torch.stack([x, y, z], -2)
    t = -(R @ eye.unsqueeze(-1)).squeeze(-1)
    return torch.cat([R, t.unsqueeze(-1)], -1)


# The scene and camera distribution. The defaults are what runs 1 and 2 trained on; config.json's "data" overrides them
# (run 3: wider focal lengths and orbit steps, narrower ranges, dark backgrounds and plaster-like surfaces, because the
# app sweeps at 4x the training resolution with per-view narrowed ranges, so one stage-1 step moves a source pixel
# 1-12 px there against <= 1.1 px in runs 1-2; see README).
DATA_DEFAULTS = dict(focal=[0.7, 1.4], focal_log=False, orbit_step=[0.06, 0.5], near=[0.35, 0.45], far=[1.5, 1.9],
                     dark_bg=0.0, low_texture=0.12, low_contrast=[0.03, 0.15])


def data_options(cfg=None):
    d = dict(DATA_DEFAULTS)
    d.update((cfg or {}).get('data', {}))
    return d


def make_scenes(g, B, dev, opt=None):
    opt = opt or DATA_DEFAULTS
    s = {}
    s['sph_c'] = torch.stack([_u(g, (B, NS), -0.9, 0.9, dev), _u(g, (B, NS), -0.6, 0.7, dev), _u(g, (B, NS), -0.9, 0.9, dev)], -1)
    s['sph_r'] = _u(g, (B, NS), 0.15, 0.5, dev)
    s['sph_on'] = torch.rand(B, NS, generator=g, device=dev) < 0.6
    s['box_c'] = torch.stack([_u(g, (B, NB), -0.9, 0.9, dev), _u(g, (B, NB), -0.6, 0.7, dev), _u(g, (B, NB), -0.9, 0.9, dev)], -1)
    s['box_h'] = _u(g, (B, NB, 3), 0.08, 0.45, dev)
    s['box_R'] = random_rotations(g, B * NB, dev).reshape(B, NB, 3, 3)
    s['box_on'] = torch.rand(B, NB, generator=g, device=dev) < 0.6
    # at least one object
    none = ~(s['sph_on'].any(1) | s['box_on'].any(1))
    s['sph_on'][:, 0] |= none
    s['floor_on'] = torch.rand(B, generator=g, device=dev) < 0.8
    s['floor_y'] = _u(g, (B,), -1.2, -0.8, dev)
    s['floor_a'] = _u(g, (B, 4), 0.0, 0.05, dev)
    s['floor_k'] = _u(g, (B, 4, 2), -6.0, 6.0, dev)
    s['floor_p'] = _u(g, (B, 4), 0.0, 2 * math.pi, dev)
    s['room_on'] = torch.rand(B, generator=g, device=dev) < 0.5
    s['room_h'] = _u(g, (B,), 5.0, 8.0, dev)
    # textures per object
    s['tex_a'] = _u(g, (B, NOBJ, 3), 0.05, 1.0, dev)
    s['tex_b'] = _u(g, (B, NOBJ, 3), 0.05, 1.0, dev)
    s['tex_f'] = torch.exp(_u(g, (B, NOBJ), math.log(2.0), math.log(16.0), dev))
    s['tex_kind'] = torch.randint(0, 3, (B, NOBJ), generator=g, device=dev)  # 0 fbm, 1 cells, 2 stripes+fbm
    lo_c, hi_c = opt['low_contrast']
    s['tex_contrast'] = torch.where(torch.rand(B, NOBJ, generator=g, device=dev) < opt['low_texture'], _u(g, (B, NOBJ), lo_c, hi_c, dev), _u(g, (B, NOBJ), 0.5, 1.0, dev))
    s['tex_seed'] = torch.randint(0, 1 << 20, (B, NOBJ), generator=g, device=dev)
    s['bg'] = _u(g, (B, 3), 0.0, 0.6, dev)
    # a dark, nearly black backdrop (studio captures such as the Middlebury temple): nothing to match there
    if opt['dark_bg'] > 0:
        dark = torch.rand(B, 1, generator=g, device=dev) < opt['dark_bg']
        s['bg'] = torch.where(dark, s['bg'] * 0.06, s['bg'])
    L = torch.randn(B, 3, generator=g, device=dev)
    L[:, 1] = L[:, 1].abs() + 0.5
    s['light'] = L / L.norm(dim=1, keepdim=True)
    s['ambient'] = _u(g, (B,), 0.25, 0.6, dev)
    return s


def make_cameras(g, B, V, H, W, dev, opt=None):
    """K [B,V,3,3], P [B,V,3,4], inv_near/inv_far [B] (the sweep range opt['near']..opt['far'] x the target depth)."""
    opt = opt or DATA_DEFAULTS
    target = torch.stack([_u(g, (B,), -0.3, 0.3, dev), _u(g, (B,), -0.2, 0.4, dev), _u(g, (B,), -0.3, 0.3, dev)], -1)
    a0 = _u(g, (B,), 0, 2 * math.pi, dev)
    e0 = _u(g, (B,), 0.0, 0.9, dev)
    r0 = _u(g, (B,), 2.4, 4.5, dev)

    def orbit(a, e, r, tgt):
        return tgt + r[..., None] * torch.stack([torch.cos(e) * torch.cos(a), torch.sin(e), torch.cos(e) * torch.sin(a)], -1)

    eye0 = orbit(a0, e0, r0, target)
    S = V - 1
    sign = torch.where(torch.rand(B, S, generator=g, device=dev) < 0.5, -1.0, 1.0)
    da = sign * _u(g, (B, S), opt['orbit_step'][0], opt['orbit_step'][1], dev)
    de = _u(g, (B, S), -0.25, 0.25, dev)
    rs = r0[:, None] * _u(g, (B, S), 0.8, 1.2, dev)
    eyes_orbit = orbit(a0[:, None] + da, (e0[:, None] + de).clamp(min=-0.05), rs, target[:, None])
    tg_orbit = target[:, None] + 0.15 * torch.randn(B, S, 3, generator=g, device=dev)
    # forward-facing: sideways / up-down translation, same viewing direction (plus a little rotation noise)
    fwd = (target - eye0) / (target - eye0).norm(dim=-1, keepdim=True)
    side = torch.randn(B, S, 3, generator=g, device=dev)
    side = side - (side * fwd[:, None]).sum(-1, keepdim=True) * fwd[:, None]
    side = side / side.norm(dim=-1, keepdim=True)
    eyes_fwd = eye0[:, None] + side * (r0[:, None, None] * _u(g, (B, S, 1), 0.06, 0.45, dev))
    tg_fwd = eyes_fwd + (target - eye0)[:, None] + 0.1 * torch.randn(B, S, 3, generator=g, device=dev)
    mode = (torch.rand(B, generator=g, device=dev) < 0.3)[:, None, None]
    eyes = torch.cat([eye0[:, None], torch.where(mode, eyes_fwd, eyes_orbit)], 1)
    tgts = torch.cat([target[:, None], torch.where(mode, tg_fwd, tg_orbit)], 1)
    roll = 0.06 * torch.randn(B, V, generator=g, device=dev)
    P = look_at(eyes, tgts, roll)
    f_lo, f_hi = opt['focal']
    if opt['focal_log']:  # one focal per capture drawn log-uniformly (long lenses as common as wide ones), +-5% per view
        f = W * torch.exp(_u(g, (B, 1), math.log(f_lo), math.log(f_hi), dev)) * _u(g, (B, V), 0.95, 1.05, dev)
    else:
        f = W * _u(g, (B, V), f_lo, f_hi, dev)
    K = torch.zeros(B, V, 3, 3, device=dev)
    K[..., 0, 0] = f
    K[..., 1, 1] = f * _u(g, (B, V), 0.98, 1.02, dev)
    K[..., 0, 2] = (W - 1) / 2 + _u(g, (B, V), -3, 3, dev)
    K[..., 1, 2] = (H - 1) / 2 + _u(g, (B, V), -3, 3, dev)
    K[..., 2, 2] = 1
    dist = r0
    inv_near = 1.0 / (dist * _u(g, (B,), opt['near'][0], opt['near'][1], dev))
    inv_far = 1.0 / (dist * _u(g, (B,), opt['far'][0], opt['far'][1], dev))
    return K, P, inv_near, inv_far


def _hash(ix, iy, iz, seed):
    h = (ix * 73856093) ^ (iy * 19349663) ^ (iz * 83492791) ^ (seed * 2654435761)
    h = h ^ (h >> 13)
    h = (h * 1274126177) & 0xFFFFFFFF
    h = h ^ (h >> 16)
    return (h & 0xFFFF).float() / 65535.0


def value_noise(p, seed):
    pf = torch.floor(p)
    f = p - pf
    i = pf.long()
    u = f * f * (3 - 2 * f)
    acc = torch.zeros_like(p[..., 0])
    for dx in (0, 1):
        wx = u[..., 0] if dx else 1 - u[..., 0]
        for dy in (0, 1):
            wy = u[..., 1] if dy else 1 - u[..., 1]
            for dz in (0, 1):
                wz = u[..., 2] if dz else 1 - u[..., 2]
                acc = acc + wx * wy * wz * _hash(i[..., 0] + dx, i[..., 1] + dy, i[..., 2] + dz, seed)
    return acc


def fbm(p, seed, octaves=3):
    total, amp, norm = 0.0, 1.0, 0.0
    for o in range(octaves):
        total = total + amp * value_noise(p * (2.0 ** o) + 17.0 * o, seed + 101 * o)
        norm += amp
        amp *= 0.5
    return total / norm


def _heightfield(s, x, z):
    """floor height [B,...] and its gradient at world x, z [B,...]."""
    shp = (x.shape[0],) + (1,) * (x.dim() - 1)
    h = s['floor_y'].reshape(shp).clone().expand_as(x).clone()
    gx = torch.zeros_like(x)
    gz = torch.zeros_like(x)
    for i in range(4):
        a = s['floor_a'][:, i].reshape(shp)
        kx = s['floor_k'][:, i, 0].reshape(shp)
        kz = s['floor_k'][:, i, 1].reshape(shp)
        ph = s['floor_p'][:, i].reshape(shp)
        arg = kx * x + kz * z + ph
        h = h + a * torch.sin(arg)
        gx = gx + a * kx * torch.cos(arg)
        gz = gz + a * kz * torch.cos(arg)
    return h, gx, gz


def render(s, K, P, H, W, colour=True, g=None):
    """Ray-casts views. K [B,V,3,3], P [B,V,3,4]. Returns depth [B,V,H,W] (0 = nothing hit) and, with colour,
    images [B,V,3,H,W] in 0..1 (before the per-view photometric changes of `photometric`)."""
    B, V = K.shape[:2]
    dev = K.device
    ys, xs = torch.meshgrid(torch.arange(H, device=dev, dtype=torch.float32), torch.arange(W, device=dev, dtype=torch.float32), indexing='ij')
    pix = torch.stack([xs, ys, torch.ones_like(xs)], -1).reshape(1, 1, H * W, 3)
    dc = (torch.linalg.inv(K).unsqueeze(2) @ pix.unsqueeze(-1)).squeeze(-1)  # [B,V,HW,3], z = 1
    R = P[..., :3]
    t = P[..., 3]
    d = (R.transpose(-1, -2).unsqueeze(2) @ dc.unsqueeze(-1)).squeeze(-1)  # world direction with camera z = 1
    o = -(R.transpose(-1, -2) @ t.unsqueeze(-1)).squeeze(-1)  # [B,V,3]
    o = o.unsqueeze(2).expand_as(d)
    INF = 1e9
    best = torch.full(d.shape[:3], INF, device=dev)
    obj = torch.full(d.shape[:3], -1, device=dev, dtype=torch.long)
    normal = torch.zeros_like(d)
    # spheres
    for k in range(NS):
        c = s['sph_c'][:, k].reshape(B, 1, 1, 3)
        r = s['sph_r'][:, k].reshape(B, 1, 1)
        oc = o - c
        a = (d * d).sum(-1)
        bq = (d * oc).sum(-1)
        cq = (oc * oc).sum(-1) - r * r
        disc = bq * bq - a * cq
        tt = (-bq - torch.sqrt(disc.clamp(min=0))) / a
        hit = (disc > 0) & (tt > NEAR) & (tt < best) & s['sph_on'][:, k].reshape(B, 1, 1)
        best = torch.where(hit, tt, best)
        obj = torch.where(hit, torch.full_like(obj, k), obj)
        n = (o + tt.unsqueeze(-1) * d - c) / r.unsqueeze(-1)
        normal = torch.where(hit.unsqueeze(-1), n, normal)
    # boxes (slab test in the box frame)
    for k in range(NB):
        c = s['box_c'][:, k].reshape(B, 1, 1, 3)
        h = s['box_h'][:, k].reshape(B, 1, 1, 3)
        Rb = s['box_R'][:, k].reshape(B, 1, 1, 3, 3)  # box-from-local: world = c + Rb @ local
        ol = (Rb.transpose(-1, -2) @ (o - c).unsqueeze(-1)).squeeze(-1)
        dl = (Rb.transpose(-1, -2) @ d.unsqueeze(-1)).squeeze(-1)
        dl = torch.where(dl.abs() < 1e-9, torch.full_like(dl, 1e-9), dl)
        t1 = (-h - ol) / dl
        t2 = (h - ol) / dl
        tmin_ax = torch.minimum(t1, t2)
        tmin, axis = tmin_ax.max(-1)
        tmax = torch.maximum(t1, t2).min(-1).values
        hit = (tmax >= tmin) & (tmin > NEAR) & (tmin < best) & s['box_on'][:, k].reshape(B, 1, 1)
        best = torch.where(hit, tmin, best)
        obj = torch.where(hit, torch.full_like(obj, NS + k), obj)
        nl = torch.zeros_like(dl).scatter(-1, axis.unsqueeze(-1), 1.0) * -torch.sign(dl)
        n = (Rb @ nl.unsqueeze(-1)).squeeze(-1)
        normal = torch.where(hit.unsqueeze(-1), n, normal)
    # room: the exit of the ray from a centred cube
    L = s['room_h'].reshape(B, 1, 1, 1)
    dsafe = torch.where(d.abs() < 1e-9, torch.full_like(d, 1e-9), d)
    texit_ax = torch.maximum((-L - o) / dsafe, (L - o) / dsafe)
    texit, axis = texit_ax.min(-1)
    hit = (texit > NEAR) & (texit < best) & s['room_on'].reshape(B, 1, 1)
    best = torch.where(hit, texit, best)
    obj = torch.where(hit, torch.full_like(obj, OBJ_ROOM), obj)
    n = torch.zeros_like(d).scatter(-1, axis.unsqueeze(-1), 1.0) * -torch.sign(dsafe)
    normal = torch.where(hit.unsqueeze(-1), n, normal)
    # height-field floor: march the band of heights, then bisect
    ymin = (s['floor_y'] - s['floor_a'].sum(1)).reshape(B, 1, 1)
    ymax = (s['floor_y'] + s['floor_a'].sum(1)).reshape(B, 1, 1)
    dy = torch.where(d[..., 1].abs() < 1e-9, torch.full_like(d[..., 1], -1e-9), d[..., 1])
    ta = ((ymax - o[..., 1]) / dy).clamp(min=NEAR)
    tb = ((ymin - o[..., 1]) / dy).clamp(min=NEAR)
    t0 = torch.minimum(ta, tb)
    t1_ = torch.maximum(ta, tb).clamp(max=60.0)
    t1_ = torch.minimum(t1_, best)
    steps = 48
    ts = t0.unsqueeze(-1) + (t1_ - t0).clamp(min=0).unsqueeze(-1) * torch.linspace(0, 1, steps + 1, device=dev)
    px = o[..., 0:1] + ts * d[..., 0:1]
    pz = o[..., 2:3] + ts * d[..., 2:3]
    py = o[..., 1:2] + ts * d[..., 1:2]
    hh, _, _ = _heightfield(s, px.reshape(B, -1), pz.reshape(B, -1))
    f = py - hh.reshape(py.shape)
    below = f <= 0
    first = torch.where(below.any(-1), below.float().argmax(-1), torch.full_like(best, -1, dtype=torch.long))
    ok = (first > 0) & s['floor_on'].reshape(B, 1, 1) & (t1_ > t0)
    lo = torch.gather(ts, -1, (first - 1).clamp(min=0).unsqueeze(-1)).squeeze(-1)
    hi = torch.gather(ts, -1, first.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    for _ in range(14):
        mid = 0.5 * (lo + hi)
        p = o + mid.unsqueeze(-1) * d
        hm, _, _ = _heightfield(s, p[..., 0], p[..., 2])
        under = (p[..., 1] - hm) <= 0
        hi = torch.where(under, mid, hi)
        lo = torch.where(under, lo, mid)
    tf = 0.5 * (lo + hi)
    hit = ok & (tf > NEAR) & (tf < best)
    best = torch.where(hit, tf, best)
    obj = torch.where(hit, torch.full_like(obj, OBJ_FLOOR), obj)
    p = o + tf.unsqueeze(-1) * d
    _, gx, gz = _heightfield(s, p[..., 0], p[..., 2])
    n = torch.stack([-gx, torch.ones_like(gx), -gz], -1)
    n = n / n.norm(dim=-1, keepdim=True)
    normal = torch.where(hit.unsqueeze(-1), n, normal)

    valid = obj >= 0
    depth = torch.where(valid, best, torch.zeros_like(best)).reshape(B, V, H, W)
    if not colour:
        return depth, None
    p = o + torch.where(valid, best, torch.zeros_like(best)).unsqueeze(-1) * d
    oid = obj.clamp(min=0)
    gat = lambda name: torch.gather(s[name], 1, oid.reshape(B, -1)).reshape(oid.shape)
    gat3 = lambda name: torch.gather(s[name], 1, oid.reshape(B, -1, 1).expand(-1, -1, 3)).reshape(*oid.shape, 3)
    freq = gat('tex_f')
    kind = gat('tex_kind')
    contrast = gat('tex_contrast')
    seed = gat('tex_seed')
    ca, cb = gat3('tex_a'), gat3('tex_b')
    q = p * freq.unsqueeze(-1)
    n1 = fbm(q, seed)
    n2 = value_noise(q * 3.7 + 5.0, seed + 7)
    cells = torch.floor(q * 0.5)
    ci = cells.long()
    cell_v = _hash(ci[..., 0], ci[..., 1], ci[..., 2], seed + 13)
    stripes = 0.5 + 0.5 * torch.sin(q[..., 0] * 2.1 + q[..., 1] * 1.3 + 3.0 * n1)
    m = torch.where(kind == 0, n1, torch.where(kind == 1, cell_v, stripes))
    m = 0.5 + contrast * (m - 0.5) * 1.6
    detail = 0.8 + 0.4 * n2 * contrast
    albedo = (ca * (1 - m.unsqueeze(-1)) + cb * m.unsqueeze(-1)) * detail.unsqueeze(-1)
    Ld = s['light'].reshape(B, 1, 1, 3)
    amb = s['ambient'].reshape(B, 1, 1, 1)
    lam = amb + (1 - amb) * (normal * Ld).sum(-1, keepdim=True).clamp(min=0)
    rgb = albedo * lam
    bg = s['bg'].reshape(B, 1, 1, 3) * (0.9 + 0.2 * (ys.reshape(1, 1, H * W, 1) / H))
    rgb = torch.where(valid.unsqueeze(-1), rgb, bg)
    return depth, rgb.reshape(B, V, H, W, 3).permute(0, 1, 4, 2, 3).contiguous()


def photometric(g, img):
    """Per-view exposure gain, white balance, gamma and sensor noise."""
    B, V = img.shape[:2]
    dev = img.device
    gain = _u(g, (B, V, 1, 1, 1), 0.65, 1.35, dev)
    wb = _u(g, (B, V, 3, 1, 1), 0.93, 1.07, dev)
    gamma = _u(g, (B, V, 1, 1, 1), 0.85, 1.15, dev)
    sigma = _u(g, (B, V, 1, 1, 1), 0.0, 0.02, dev)
    out = (img * gain * wb).clamp(0, 1) ** gamma
    out = out + sigma * torch.randn(img.shape, generator=g, device=dev)
    return out.clamp(0, 1)


def stage1_step_px(K, P, inv_near, inv_far, depths=48):
    """How far one stage-1 hypothesis step moves the reference's centre pixel in each source, in stage-1 (1/4) pixels:
    [B, V-1]. The quantity the training distribution must share with the app's runs (README, run 3)."""
    from model import scale_K
    K4 = scale_K(K, 0.25)
    R, t = P[..., :3], P[..., 3]
    B, V = K.shape[:2]
    c = torch.stack([K4[:, 0, 0, 2], K4[:, 0, 1, 2], torch.ones(B, device=K.device)], -1)
    ray = (torch.linalg.inv(K4[:, 0]) @ c.unsqueeze(-1)).squeeze(-1)  # camera ray of the centre pixel, z = 1
    o = -(R[:, 0].transpose(-1, -2) @ t[:, 0].unsqueeze(-1)).squeeze(-1)
    d = (R[:, 0].transpose(-1, -2) @ ray.unsqueeze(-1)).squeeze(-1)
    mid = 0.5 * (inv_near + inv_far)
    step = (inv_near - inv_far) / depths

    def proj(inv):
        X = o + d / inv.unsqueeze(-1)
        h = (K4[:, 1:] @ (R[:, 1:] @ X[:, None, :, None] + t[:, 1:, :, None])).squeeze(-1)
        return h[..., :2] / h[..., 2:3].clamp(min=1e-6)
    return (proj(mid + 0.5 * step) - proj(mid - 0.5 * step)).norm(dim=-1)


def make_batch(g, B, V, H, W, dev, opt=None):
    """One training batch: images [B,V,3,H,W], K, P, inv range, source mask, and the reference depth at 1/4 and 1/2
    resolution (rendered directly at those sizes with scaled intrinsics)."""
    from model import scale_K
    s = make_scenes(g, B, dev, opt)
    K, P, inv_near, inv_far = make_cameras(g, B, V, H, W, dev, opt)
    _, img = render(s, K, P, H, W, colour=True)
    img = photometric(g, img)
    gt4, _ = render(s, scale_K(K[:, :1], 0.25), P[:, :1], H // 4, W // 4, colour=False)
    gt2, _ = render(s, scale_K(K[:, :1], 0.5), P[:, :1], H // 2, W // 2, colour=False)
    present = torch.ones(B, V - 1, device=dev)
    drop = torch.rand(B, V - 1, generator=g, device=dev) < 0.15
    drop[:, 0] = False  # keep at least one source
    present = torch.where(drop, torch.zeros_like(present), present)
    return dict(images=img, K=K, P=P, inv_near=inv_near, inv_far=inv_far, present=present, gt4=gt4[:, 0], gt2=gt2[:, 0])
