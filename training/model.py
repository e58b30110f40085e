"""The learned multi-view stereo network (issue 7), in the form the browser runs it.

Three ONNX graphs, all 2-D convolutions (ORT WebGPU's coverage):
  feature:  image [N,3,H,W] -> feat4 [N,C4,H/4,W/4], feat2 [N,C2,H/2,W/2]   (a small FPN)
  reg1:     cost [1,G*D1,H/4,W/4], feat [1,C4,H/4,W/4] -> logits [1,D1,H/4,W/4]   (2-D U-Net)
  reg2:     cost [1,G*D2,H/2,W/2], feat [1,C2,H/2,W/2] -> logits [1,D2,H/2,W/2]
Between them, in the browser, our WGSL builds the cost volumes (src/stages/depth/mvs_cost_volume.wgsl) and turns
logits into depth (mvs_regress.wgsl). The functions `cost_volume`, `regress` and `stage2_hypotheses` below are the
PyTorch twins of those kernels: same pixel-centre convention (pixel (x, y) is the point x, y; K of a level with scale
s is fx*s, (cx+0.5)*s-0.5), same hypotheses (uniform in inverse depth, sample k at (k+0.5)/D), same bilinear
sampling (taps floor(p) and min(floor(p)+1, size-1)), same visibility (h.z > 1e-6 and 0 <= p <= size-1), same
channel order (channel g*D + k).
H and W must be multiples of 16.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

INV_EPS = 1e-6


def conv(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.ReLU(inplace=True))


def up2(x):
    return F.interpolate(x, scale_factor=2.0, mode='nearest')


class FeatureNet(nn.Module):
    def __init__(self, c1=8, c2=16, c4=32, c8=48, out2=16, out4=32):
        super().__init__()
        self.s1 = nn.Sequential(conv(3, c1), conv(c1, c1))
        self.s2 = nn.Sequential(conv(c1, c2, 2), conv(c2, c2), conv(c2, c2))
        self.s4 = nn.Sequential(conv(c2, c4, 2), conv(c4, c4), conv(c4, c4))
        self.s8 = nn.Sequential(conv(c4, c8, 2), conv(c8, c8), conv(c8, c8))
        self.lat4 = nn.Conv2d(c4, c8, 1)
        self.lat2 = nn.Conv2d(c2, c8, 1)
        self.out4 = nn.Conv2d(c8, out4, 3, 1, 1)
        self.out2 = nn.Conv2d(c8, out2, 3, 1, 1)

    def forward(self, image):
        # RGB in 0..1 -> roughly zero-mean, unit-scale (kept in the graph so the browser feeds plain RGB)
        f1 = self.s1((image - 0.45) / 0.25)
        f2 = self.s2(f1)
        f4 = self.s4(f2)
        f8 = self.s8(f4)
        p4 = self.lat4(f4) + up2(f8)
        p2 = self.lat2(f2) + up2(p4)
        return self.out4(p4), self.out2(p2)


class RegNet(nn.Module):
    """2-D U-Net over the cost volume (hypotheses x groups as channels) plus the reference features."""

    def __init__(self, cost_channels, feat_channels, depths, widths):
        super().__init__()
        w0, w1, w2 = widths
        self.inp = nn.Sequential(nn.Conv2d(cost_channels + feat_channels, w0, 1), nn.ReLU(inplace=True), conv(w0, w0))
        self.down1 = nn.Sequential(conv(w0, w1, 2), conv(w1, w1))
        self.down2 = nn.Sequential(conv(w1, w2, 2), conv(w2, w2))
        self.up1 = conv(w2, w1)
        self.dec1 = conv(w1, w1)
        self.up0 = conv(w1, w0)
        self.dec0 = conv(w0, w0)
        self.out = nn.Conv2d(w0, depths, 3, 1, 1)

    def forward(self, cost, feat):
        x0 = self.inp(torch.cat([cost, feat], 1))
        x1 = self.down1(x0)
        x2 = self.down2(x1)
        y1 = self.dec1(self.up1(up2(x2)) + x1)
        y0 = self.dec0(self.up0(up2(y1)) + x0)
        return self.out(y0)


def scale_K(K, s):
    """K [...,3,3] for an image scaled by s (pixel centres at integers)."""
    K = K.clone()
    K[..., 0, 0] *= s
    K[..., 0, 1] *= s
    K[..., 1, 1] *= s
    K[..., 0, 2] = (K[..., 0, 2] + 0.5) * s - 0.5
    K[..., 1, 2] = (K[..., 1, 2] + 0.5) * s - 0.5
    return K


def source_projection(K_r, P_r, K_s, P_s):
    """A, b with h = d * A [x y 1] + b the homogeneous source pixel of reference pixel (x, y) at depth d.
    K [...,3,3], P [...,3,4] camFromWorld. Mirrors sourceProjection in planeSweep.ts."""
    R_r, t_r = P_r[..., :3], P_r[..., 3]
    R_s, t_s = P_s[..., :3], P_s[..., 3]
    RsRrT = R_s @ R_r.transpose(-1, -2)
    A = K_s @ RsRrT @ torch.linalg.inv(K_r)
    b = (K_s @ (t_s - (RsRrT @ t_r.unsqueeze(-1)).squeeze(-1)).unsqueeze(-1)).squeeze(-1)
    return A, b


def cost_volume(feat_ref, feat_src, A, b, invd, src_present, groups):
    """Group-wise correlation cost volume.
    feat_ref [B,C,H,W]; feat_src [B,S,C,H,W]; A [B,S,3,3], b [B,S,3] (at this level); invd [B,D,H,W] inverse depth
    per pixel and hypothesis; src_present [B,S] (0 = no such source). Returns cost [B,G*D,H,W] (channel g*D+k) and
    the number of sources that saw each sample [B,D,H,W]."""
    B, S, C, H, W = feat_src.shape
    D = invd.shape[1]
    dev = feat_ref.device
    ys, xs = torch.meshgrid(torch.arange(H, device=dev, dtype=torch.float32), torch.arange(W, device=dev, dtype=torch.float32), indexing='ij')
    pix = torch.stack([xs, ys, torch.ones_like(xs)], 0).reshape(3, H * W)  # [3,HW]
    ray = A @ pix  # [B,S,3,HW]
    depth = (1.0 / invd).reshape(B, 1, D, 1, H * W)
    h = depth * ray.unsqueeze(2) + b.reshape(B, S, 1, 3, 1)  # [B,S,D,3,HW]
    hz = h[:, :, :, 2]
    safe = torch.where(hz > INV_EPS, hz, torch.ones_like(hz))
    px = h[:, :, :, 0] / safe
    py = h[:, :, :, 1] / safe
    valid = (hz > INV_EPS) & (px >= 0) & (px <= W - 1) & (py >= 0) & (py <= H - 1)
    valid = valid & (src_present.reshape(B, S, 1, 1) > 0)
    # Bilinear between pixel centres; grid_sample with align_corners=True maps -1..1 onto pixel centres 0..size-1,
    # which is the WGSL kernel's sampling for every valid (inside) sample. Invalid samples are masked out.
    gx = torch.where(valid, px, torch.zeros_like(px)) / max(W - 1, 1) * 2 - 1
    gy = torch.where(valid, py, torch.zeros_like(py)) / max(H - 1, 1) * 2 - 1
    grid = torch.stack([gx, gy], -1).reshape(B * S, D * H, W, 2)
    warped = F.grid_sample(feat_src.reshape(B * S, C, H, W), grid, mode='bilinear', padding_mode='border', align_corners=True)
    warped = warped.reshape(B, S, groups, C // groups, D, H, W)
    ref = feat_ref.reshape(B, 1, groups, C // groups, 1, H, W)
    corr = (warped * ref).mean(3)  # [B,S,G,D,H,W]
    vis = valid.reshape(B, S, 1, D, H, W).to(corr.dtype)
    count = vis.sum(1)  # [B,1,D,H,W]
    cost = (corr * vis).sum(1) / count.clamp(min=1.0)
    return cost.reshape(B, groups * D, H, W), count.reshape(B, D, H, W)


def stage1_hypotheses(inv_near, inv_far, D, H, W):
    """[B,D,H,W]: inverse depth of sample k = mix(invNear, invFar, (k+0.5)/D)."""
    t = (torch.arange(D, device=inv_near.device, dtype=torch.float32) + 0.5) / D
    inv = inv_near[:, None] + (inv_far - inv_near)[:, None] * t[None]
    return inv[:, :, None, None].expand(-1, -1, H, W).contiguous()


def upsample_inv(inv1):
    """Stage-1 inverse depth [B,1,h,w] -> [B,1,2h,2w], bilinear with half-pixel centres and edge clamping
    (align_corners=False), as mvs_cost_volume.wgsl's stage-2 centre lookup."""
    return F.interpolate(inv1, scale_factor=2.0, mode='bilinear', align_corners=False)


def stage2_hypotheses(inv_centre, half_width, D):
    """inv_centre [B,1,H,W], half_width [B] -> [B,D,H,W]: centre + hw*(2(k+0.5)/D - 1), clamped to >= 1e-6."""
    t = (torch.arange(D, device=inv_centre.device, dtype=torch.float32) + 0.5) / D * 2 - 1
    inv = inv_centre + half_width[:, None, None, None] * t[None, :, None, None]
    return inv.clamp(min=INV_EPS)


def regress(logits):
    """softmax over hypotheses -> expected fractional index t in [0,1] (sample k sits at (k+0.5)/D) and confidence =
    probability mass of the argmax and its two neighbours. Mirrors mvs_regress.wgsl."""
    D = logits.shape[1]
    p = torch.softmax(logits, 1)
    k = (torch.arange(D, device=logits.device, dtype=torch.float32) + 0.5).reshape(1, D, 1, 1)
    t = (p * k).sum(1, keepdim=True) / D
    am = p.argmax(1, keepdim=True)
    padded = F.pad(p, (0, 0, 0, 0, 1, 1))
    conf = torch.gather(padded, 1, am) + torch.gather(padded, 1, am + 1) + torch.gather(padded, 1, am + 2)
    return p, t, conf


class MVSNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        fc = cfg['feature']
        s1, s2 = cfg['stage1'], cfg['stage2']
        self.feature = FeatureNet(**fc)
        self.reg1 = RegNet(s1['groups'] * s1['depths'], fc['out4'], s1['depths'], s1['widths'])
        self.reg2 = RegNet(s2['groups'] * s2['depths'], fc['out2'], s2['depths'], s2['widths'])

    def forward(self, images, K, P, inv_near, inv_far, src_present):
        """images [B,V,3,H,W] (view 0 = reference), K [B,V,3,3] at full resolution, P [B,V,3,4], inv_near/far [B],
        src_present [B,V-1]. Returns a dict of stage outputs (inverse depths at 1/4 and 1/2 resolution)."""
        B, V, _, H, W = images.shape
        s1, s2 = self.cfg['stage1'], self.cfg['stage2']
        f4, f2 = self.feature(images.reshape(B * V, 3, H, W))
        f4 = f4.reshape(B, V, *f4.shape[1:])
        f2 = f2.reshape(B, V, *f2.shape[1:])
        out = {}
        # stage 1: 1/4 resolution, the whole range
        K4 = scale_K(K, 0.25)
        A4, b4 = source_projection(K4[:, :1], P[:, :1], K4[:, 1:], P[:, 1:])
        h4, w4 = H // 4, W // 4
        inv1_h = stage1_hypotheses(inv_near, inv_far, s1['depths'], h4, w4)
        cost1, _ = cost_volume(f4[:, 0], f4[:, 1:], A4, b4, inv1_h, src_present, s1['groups'])
        logits1 = self.reg1(cost1, f4[:, 0])
        p1, t1, conf1 = regress(logits1)
        inv1 = inv_near[:, None, None, None] + (inv_far - inv_near)[:, None, None, None] * t1
        out.update(logits1=logits1, p1=p1, t1=t1, conf1=conf1, inv1=inv1)
        # stage 2: 1/2 resolution, +-span_steps stage-1 steps around the (detached) stage-1 inverse depth
        K2 = scale_K(K, 0.5)
        A2, b2 = source_projection(K2[:, :1], P[:, :1], K2[:, 1:], P[:, 1:])
        centre = upsample_inv(inv1.detach())
        hw = s2['span_steps'] * (inv_near - inv_far).abs() / s1['depths']
        inv2_h = stage2_hypotheses(centre, hw, s2['depths'])
        cost2, _ = cost_volume(f2[:, 0], f2[:, 1:], A2, b2, inv2_h, src_present, s2['groups'])
        logits2 = self.reg2(cost2, f2[:, 0])
        p2, t2, conf2 = regress(logits2)
        inv2 = (centre + hw[:, None, None, None] * (2 * t2 - 1)).clamp(min=INV_EPS)
        out.update(logits2=logits2, p2=p2, t2=t2, conf2=conf2, inv2=inv2, centre2=centre, hw2=hw)
        return out
