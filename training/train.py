"""Trains the MVS network on procedural scenes (data.py) for a wall-clock budget, logs losses and a held-out synthetic
AbsRel, writes checkpoints, then exports (export.py).

  python3 train.py --config config.json --out OUTDIR [--time-budget 420] [--steps N] [--resume ckpt.pt]
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import DATA_DEFAULTS, data_options, make_batch, stage1_step_px  # noqa: E402
from model import MVSNet  # noqa: E402


def index_targets(out, batch, cfg):
    """Ground-truth fractional indices (in hypothesis units) and masks for both stages."""
    s1, s2 = cfg['stage1'], cfg['stage2']
    D1, D2 = s1['depths'], s2['depths']
    inv_near = batch['inv_near'][:, None, None, None]
    inv_far = batch['inv_far'][:, None, None, None]
    gt4 = batch['gt4'].unsqueeze(1)
    gt2 = batch['gt2'].unsqueeze(1)
    inv_gt4 = torch.where(gt4 > 0, 1.0 / gt4.clamp(min=1e-6), torch.zeros_like(gt4))
    inv_gt2 = torch.where(gt2 > 0, 1.0 / gt2.clamp(min=1e-6), torch.zeros_like(gt2))
    g1 = (inv_gt4 - inv_near) / (inv_far - inv_near) * D1
    m1 = (gt4 > 0) & (g1 >= 0) & (g1 <= D1)
    g2r = (inv_gt2 - inv_near) / (inv_far - inv_near) * D1
    m2 = (gt2 > 0) & (g2r >= 0) & (g2r <= D1)
    hw = out['hw2'][:, None, None, None]
    g2 = ((inv_gt2 - out['centre2']) / hw + 1) / 2 * D2
    return g1, m1, g2.clamp(0, D2), m2, inv_gt2


def soft_ce(logits, target, mask):
    """Cross-entropy against the two bins around the fractional target index (sample k sits at k + 0.5)."""
    D = logits.shape[1]
    x = (target - 0.5).clamp(0, D - 1)
    lo = x.floor().long().clamp(0, D - 1)
    hi = (lo + 1).clamp(max=D - 1)
    w = x - lo.float()
    logp = F.log_softmax(logits, 1)
    nll = -((1 - w) * torch.gather(logp, 1, lo) + w * torch.gather(logp, 1, hi))
    return (nll * mask).sum() / mask.sum().clamp(min=1)


def losses(out, batch, cfg):
    tc = cfg['train']
    s1, s2 = cfg['stage1'], cfg['stage2']
    g1, m1, g2, m2, _ = index_targets(out, batch, cfg)
    m1f, m2f = m1.float(), m2.float()
    e1 = out['t1'] * s1['depths']
    e2 = out['t2'] * s2['depths']
    l1 = (F.smooth_l1_loss(e1, g1, reduction='none') * m1f).sum() / m1f.sum().clamp(min=1)
    l2 = (F.smooth_l1_loss(e2, g2, reduction='none') * m2f).sum() / m2f.sum().clamp(min=1)
    c1 = soft_ce(out['logits1'], g1, m1f)
    c2 = soft_ce(out['logits2'], g2, m2f)
    total = tc['stage1_weight'] * (l1 + tc['ce_weight'] * c1) + l2 + tc['ce_weight'] * c2
    return total, dict(l1=l1.item(), l2=l2.item(), ce1=c1.item(), ce2=c2.item())


@torch.no_grad()
def evaluate(model, val, cfg):
    """Held-out AbsRel / delta<1.25 / <1% of the final (stage-2) depth on pixels with ground truth in the range."""
    model.eval()
    errs, inside = [], 0
    for batch in val:
        out = model(batch['images'], batch['K'], batch['P'], batch['inv_near'], batch['inv_far'], batch['present'])
        _, _, _, m2, inv_gt2 = index_targets(out, batch, cfg)
        gt = batch['gt2'].unsqueeze(1)
        pred = 1.0 / out['inv2']
        e = ((pred - gt).abs() / gt.clamp(min=1e-6))[m2]
        errs.append(e)
        inside += int(m2.sum())
    model.train()
    e = torch.cat(errs)
    ratio = 1 + e  # |pred-gt|/gt < 0.25 as a stand-in for max(p/g, g/p) < 1.25 on the upper side
    return dict(abs_rel=e.mean().item(), median_rel=e.median().item(), within1pct=(e < 0.01).float().mean().item(),
                delta125=(ratio < 1.25).float().mean().item(), pixels=inside)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--config', default=os.path.join(os.path.dirname(__file__), 'config.json'))
    ap.add_argument('--out', required=True)
    ap.add_argument('--time-budget', type=float, default=None)
    ap.add_argument('--steps', type=int, default=None)
    ap.add_argument('--resume', default=None)
    ap.add_argument('--lr', type=float, default=None, help='peak learning rate (a resumed run usually wants a lower one)')
    ap.add_argument('--no-export', action='store_true')
    args = ap.parse_args()
    cfg = json.load(open(args.config))
    tc = cfg['train']
    if args.lr is not None:
        tc['lr'] = args.lr
    budget = args.time_budget if args.time_budget is not None else tc['time_budget_s']
    max_steps = args.steps if args.steps is not None else tc['max_steps']
    os.makedirs(args.out, exist_ok=True)
    dev = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    torch.manual_seed(cfg['seed'])
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    log = open(os.path.join(args.out, 'train_log.txt'), 'a')

    def say(msg):
        print(msg, flush=True)
        log.write(msg + '\n')
        log.flush()

    model = MVSNet(cfg).to(dev)
    nparams = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=tc['lr'], weight_decay=tc['weight_decay'])
    step = 0
    if args.resume:
        ck = torch.load(args.resume, map_location=dev)
        model.load_state_dict(ck['model'])
        if 'opt' in ck:
            opt.load_state_dict(ck['opt'])
        step = ck.get('step', 0)
    say(f'device {torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu"} torch {torch.__version__} params {nparams} config {json.dumps(cfg)}')
    B, H, W, V = tc['batch'], tc['height'], tc['width'], tc['sources'] + 1
    dopt = data_options(cfg)
    # Some steps at a larger size (config train.hi_res: fraction, batch, height, width): the app runs the network at
    # 320-960 px, where features must match across bigger pixel steps than at 160 x 128.
    hi = tc.get('hi_res')
    gval = torch.Generator(device=dev)
    gval.manual_seed(cfg['seed'] + 777)
    nval = max(1, tc['val_scenes'] // 16)
    val = [make_batch(gval, min(16, tc['val_scenes']), V, H, W, dev, dopt) for _ in range(nval)]
    if hi:
        val += [make_batch(gval, 8, V, hi['height'], hi['width'], dev, dopt) for _ in range(max(1, nval // 2))]
    steps_px = torch.cat([stage1_step_px(b['K'], b['P'], b['inv_near'], b['inv_far'], cfg['stage1']['depths']).flatten() for b in val])
    q = torch.quantile(steps_px, torch.tensor([0.05, 0.25, 0.5, 0.75, 0.95], device=steps_px.device)).tolist()
    say('validation stage-1 step (px at 1/4 resolution) quantiles 5/25/50/75/95%: ' + ' '.join(f'{v:.2f}' for v in q))
    # The runs-1/2 distribution as a second held-out set, so a change of distribution shows what it costs there.
    gold = torch.Generator(device=dev)
    gold.manual_seed(cfg['seed'] + 778)
    val_old = [make_batch(gold, 16, V, H, W, dev, DATA_DEFAULTS) for _ in range(nval)]
    mix = dopt.get('mix_default', 0.0)
    if args.resume:
        m = evaluate(model, val, cfg)
        m['step'] = step
        say(f'val step {step} (resumed checkpoint, before training) ' + json.dumps(m))
        say(f'val_old step {step} (resumed checkpoint, before training) ' + json.dumps(evaluate(model, val_old, cfg)))
    g = torch.Generator(device=dev)
    g.manual_seed(cfg['seed'] + step)  # a resumed run draws new scenes
    t_start = time.time()
    last_ckpt = t_start
    hist = []
    metrics_hist = []

    def save(path, full):
        state = {'model': model.state_dict(), 'step': step, 'config': cfg}
        if full:
            state['opt'] = opt.state_dict()
        torch.save(state, path)

    while True:
        elapsed = time.time() - t_start
        if elapsed >= budget or step >= max_steps:
            break
        frac = min(1.0, elapsed / budget)
        lr = tc['lr'] * (min(1.0, (step + 1) / 200) * 0.5 * (1 + math.cos(math.pi * frac)) * 0.97 + 0.03)
        for group in opt.param_groups:
            group['lr'] = lr
        with torch.no_grad():
            # data.mix_default: the fraction of batches drawn from the runs-1/2 distribution (keeps what it learnt there)
            bopt = DATA_DEFAULTS if mix > 0 and torch.rand(1, generator=g, device=dev).item() < mix else dopt
            if hi and torch.rand(1, generator=g, device=dev).item() < hi['fraction']:
                batch = make_batch(g, hi['batch'], V, hi['height'], hi['width'], dev, bopt)
            else:
                batch = make_batch(g, B, V, H, W, dev, bopt)
        out = model(batch['images'], batch['K'], batch['P'], batch['inv_near'], batch['inv_far'], batch['present'])
        loss, parts = losses(out, batch, cfg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        hist.append(loss.item())
        if step % tc['log_every'] == 0:
            say(f'step {step} t {time.time() - t_start:.0f}s lr {lr:.2e} loss {sum(hist) / len(hist):.4f} ' + ' '.join(f'{k} {v:.4f}' for k, v in parts.items()))
            hist = []
        if step % tc['val_every'] == 0:
            m = evaluate(model, val, cfg)
            m['step'] = step
            metrics_hist.append(m)
            say(f'val step {step} ' + json.dumps(m))
        if time.time() - last_ckpt > tc['ckpt_every_s']:
            save(os.path.join(args.out, 'ckpt.pt'), True)
            last_ckpt = time.time()
    train_s = time.time() - t_start
    m = evaluate(model, val, cfg)
    m['step'] = step
    metrics_hist.append(m)
    say(f'final step {step} train_seconds {train_s:.0f} ' + json.dumps(m))
    m['old_distribution'] = evaluate(model, val_old, cfg)
    say(f'final val_old step {step} ' + json.dumps(m['old_distribution']))
    save(os.path.join(args.out, 'ckpt.pt'), True)
    save(os.path.join(args.out, 'model_final.pt'), False)
    json.dump({'train_seconds': train_s, 'steps': step, 'params': nparams, 'final': m, 'history': metrics_hist},
              open(os.path.join(args.out, 'metrics.json'), 'w'), indent=1)
    if not args.no_export:
        import export
        export.export_all(model.cpu().eval(), cfg, args.out, say)


if __name__ == '__main__':
    main()
