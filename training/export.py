"""Exports the three ONNX graphs (feature, reg1, reg2), a tiny random-weight model with the same inputs and outputs
(for CI), and a fixture (a fixed synthetic input with PyTorch's outputs) that the browser test replays through
ORT-web + our WGSL. Checks every graph with onnxruntime (CPU) against PyTorch and records the differences.

  python3 export.py --checkpoint model_final.pt --out OUTDIR        (writes OUTDIR/mvsnet_weights.tar)
"""
import argparse
import base64
import json
import os
import sys
import tarfile
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import MVSNet, cost_volume, scale_K, source_projection, stage1_hypotheses, stage2_hypotheses, upsample_inv  # noqa: E402

RANDOM_OVERRIDES = {'feature': {'c1': 4, 'c2': 8, 'c4': 8, 'c8': 8}, 'stage1': {'widths': [8, 8, 8]}, 'stage2': {'widths': [8, 8, 8]}}


def random_config(cfg):
    out = json.loads(json.dumps(cfg))
    for k, v in RANDOM_OVERRIDES.items():
        out[k].update(v)
    out['name'] = cfg['name'] + '-random'
    return out


def _export(module, args, path, input_names, output_names, dynamic_axes, opset, say):
    try:
        torch.onnx.export(module, args, path, input_names=input_names, output_names=output_names, dynamic_axes=dynamic_axes,
                          opset_version=opset, do_constant_folding=True, dynamo=False)
    except Exception as e:  # the TorchScript exporter may be gone in a newer torch: fall back to the dynamo one
        say(f'legacy ONNX export failed ({type(e).__name__}: {e}); using dynamo=True')
        torch.onnx.export(module, args, path, input_names=input_names, output_names=output_names, dynamic_axes=dynamic_axes,
                          opset_version=max(opset, 18), dynamo=True, external_data=False)


def b64(t):
    return base64.b64encode(np.ascontiguousarray(t.detach().cpu().numpy().astype(np.float32)).tobytes()).decode()


def fixture_input(cfg):
    from data import make_batch
    g = torch.Generator()
    g.manual_seed(cfg['seed'] + 4242)
    H, W = cfg['export']['fixture_height'], cfg['export']['fixture_width']
    batch = make_batch(g, 1, 5, H, W, torch.device('cpu'))
    batch['present'] = torch.ones_like(batch['present'])
    return batch


def export_model(model, cfg, folder, prefix, batch, say):
    """Writes prefix-feature.onnx, prefix-reg1.onnx, prefix-reg2.onnx; returns (file info, expected outputs, ORT diffs)."""
    import onnx
    import onnxruntime as ort
    model = model.cpu().eval()
    fc, s1, s2 = cfg['feature'], cfg['stage1'], cfg['stage2']
    opset = cfg['export']['opset']
    imgs = batch['images'][0]
    V, _, H, W = imgs.shape
    files = {}
    with torch.no_grad():
        out = model(batch['images'], batch['K'], batch['P'], batch['inv_near'], batch['inv_far'], batch['present'])
        f4, f2 = model.feature(imgs)
        # the exact cost volumes the regularisers saw (recomputed like the forward pass)
        K4, K2 = scale_K(batch['K'], 0.25), scale_K(batch['K'], 0.5)
        A4, b4 = source_projection(K4[:, :1], batch['P'][:, :1], K4[:, 1:], batch['P'][:, 1:])
        A2, b2 = source_projection(K2[:, :1], batch['P'][:, :1], K2[:, 1:], batch['P'][:, 1:])
        cost1, _ = cost_volume(f4[None, 0], f4[None, 1:], A4, b4, stage1_hypotheses(batch['inv_near'], batch['inv_far'], s1['depths'], H // 4, W // 4), batch['present'], s1['groups'])
        centre = upsample_inv(out['inv1'])
        hw = s2['span_steps'] * (batch['inv_near'] - batch['inv_far']).abs() / s1['depths']
        cost2, _ = cost_volume(f2[None, 0], f2[None, 1:], A2, b2, stage2_hypotheses(centre, hw, s2['depths']), batch['present'], s2['groups'])
        logits1 = model.reg1(cost1, f4[None, 0])
        logits2 = model.reg2(cost2, f2[None, 0])
    # Every graph has a dynamic batch axis (all their ops are batch-agnostic: Conv, Relu, Add, Concat on channels,
    # Resize): the browser runs the feature net on several views per run, and can do the same with the
    # regularisation nets over several reference views (ORT-web pays a per-layer overhead per run).
    graphs = [
        ('feature', model.feature, (imgs,), ['image'], ['feat4', 'feat2'],
         {'image': {0: 'n', 2: 'h', 3: 'w'}, 'feat4': {0: 'n', 2: 'h4', 3: 'w4'}, 'feat2': {0: 'n', 2: 'h2', 3: 'w2'}}, [f4, f2]),
        ('reg1', model.reg1, (cost1, f4[None, 0]), ['cost', 'feat'], ['logits'],
         {'cost': {0: 'n', 2: 'h', 3: 'w'}, 'feat': {0: 'n', 2: 'h', 3: 'w'}, 'logits': {0: 'n', 2: 'h', 3: 'w'}}, [logits1]),
        ('reg2', model.reg2, (cost2, f2[None, 0]), ['cost', 'feat'], ['logits'],
         {'cost': {0: 'n', 2: 'h', 3: 'w'}, 'feat': {0: 'n', 2: 'h', 3: 'w'}, 'logits': {0: 'n', 2: 'h', 3: 'w'}}, [logits2]),
    ]
    diffs = {}
    for name, module, args, ins, outs, dyn, expected in graphs:
        path = os.path.join(folder, f'{prefix}-{name}.onnx')
        _export(module, args, path, ins, outs, dyn, opset, say)
        m = onnx.load(path)
        onnx.checker.check_model(m)
        ops = sorted({n.op_type for n in m.graph.node})
        sess = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
        res = sess.run(None, {k: v.numpy() for k, v in zip(ins, args)})
        d = max(float(np.abs(r - e.numpy()).max()) for r, e in zip(res, expected))
        diffs[name] = d
        shapes = lambda vals: {n: [('?' if isinstance(x, str) else x) for x in dims] for n, dims in vals}
        files[name] = {
            'file': os.path.basename(path),
            'inputs': {i.name: [d_.dim_param or d_.dim_value for d_ in i.type.tensor_type.shape.dim] for i in m.graph.input},
            'outputs': {o.name: [d_.dim_param or d_.dim_value for d_ in o.type.tensor_type.shape.dim] for o in m.graph.output},
            'ops': ops,
        }
        say(f'{prefix}-{name}: ops {ops}; onnxruntime CPU vs torch max abs diff {d:.3e}')
    expected = {
        'inv1': b64(out['inv1'][0, 0]), 'conf1': b64(out['conf1'][0, 0]),
        'inv2': b64(out['inv2'][0, 0]), 'conf2': b64(out['conf2'][0, 0]),
        'feat4_ref_first': b64(f4[0, :, :2].reshape(-1)),
    }
    return files, expected, diffs


def export_all(model, cfg, out_dir, say=print, seed_random=12345):
    tmp = tempfile.mkdtemp()
    folder = os.path.join(tmp, 'weights')
    os.makedirs(folder)
    batch = fixture_input(cfg)
    report = {}
    files, expected, diffs = export_model(model, cfg, folder, cfg['name'], batch, say)
    report[cfg['name']] = {'graphs': files, 'ort_cpu_vs_torch_max_abs': diffs, 'config': cfg}
    rcfg = random_config(cfg)
    torch.manual_seed(seed_random)
    rmodel = MVSNet(rcfg).eval()
    rfiles, rexpected, rdiffs = export_model(rmodel, rcfg, folder, rcfg['name'], batch, say)
    report[rcfg['name']] = {'graphs': rfiles, 'ort_cpu_vs_torch_max_abs': rdiffs, 'config': rcfg}
    gt2 = batch['gt2'][0]
    H, W = cfg['export']['fixture_height'], cfg['export']['fixture_width']
    fixture = {
        'width': W, 'height': H, 'views': 5, 'sources': [1, 2, 3, 4],
        'images': b64(batch['images'][0]),
        'K': batch['K'][0].reshape(5, 9).tolist(), 'camFromWorld': batch['P'][0].reshape(5, 12).tolist(),
        'invNear': float(batch['inv_near'][0]), 'invFar': float(batch['inv_far'][0]),
        'gtDepthHalf': b64(gt2),
        'expected': {cfg['name']: expected, rcfg['name']: rexpected},
    }
    json.dump(fixture, open(os.path.join(folder, 'mvsnet-fixture.json'), 'w'))
    json.dump(report, open(os.path.join(folder, 'export_report.json'), 'w'), indent=1)
    with tarfile.open(os.path.join(out_dir, 'mvsnet_weights.tar'), 'w') as tar:
        tar.add(folder, arcname='weights')
    say(f'exported to {out_dir}/mvsnet_weights.tar: ' + json.dumps({k: v['ort_cpu_vs_torch_max_abs'] for k, v in report.items()}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--checkpoint', required=True)
    ap.add_argument('--out', required=True)
    args = ap.parse_args()
    ck = torch.load(args.checkpoint, map_location='cpu')
    cfg = ck['config']
    model = MVSNet(cfg)
    model.load_state_dict(ck['model'])
    os.makedirs(args.out, exist_ok=True)
    export_all(model.eval(), cfg, args.out)


if __name__ == '__main__':
    main()
