"""Writes public/weights/manifest.json from the exported ONNX files and export_report.json (no torch needed).

  python3 training/make_manifest.py --weights public/weights --report training/logs/export_report.json \
      --metrics training/logs/metrics_run2.json --commit <git commit of the training code>
"""
import argparse
import hashlib
import json
import os


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--weights', required=True)
    ap.add_argument('--report', required=True)
    ap.add_argument('--metrics', action='append', default=[])
    ap.add_argument('--commit', required=True)
    args = ap.parse_args()
    report = json.load(open(args.report))
    metrics = [json.load(open(m)) for m in args.metrics]
    models = {}
    for name, entry in report.items():
        graphs = {}
        for graph, info in entry['graphs'].items():
            path = os.path.join(args.weights, info['file'])
            data = open(path, 'rb').read()
            graphs[graph] = {'file': info['file'], 'bytes': len(data), 'sha256': hashlib.sha256(data).hexdigest(),
                             'inputs': info['inputs'], 'outputs': info['outputs'], 'ops': info['ops']}
        trained = not name.endswith('-random')
        models[name] = {
            'graphs': graphs,
            'config': entry['config'],
            'ortCpuVsTorchMaxAbs': entry['ort_cpu_vs_torch_max_abs'],
            'training': ({'commit': args.commit, 'runs': [{'steps': m['steps'], 'trainSeconds': round(m['train_seconds']), 'heldOut': m['final']} for m in metrics],
                          'data': 'procedural scenes (training/data.py), no third-party data'}
                         if trained else {'commit': args.commit, 'note': 'random initialisation (seed 12345), for CI: same inputs and outputs as the trained model'}),
        }
    manifest = {'version': 1, 'models': models}
    json.dump(manifest, open(os.path.join(args.weights, 'manifest.json'), 'w'), indent=1)
    print(json.dumps({k: sum(g['bytes'] for g in v['graphs'].values()) for k, v in models.items()}))


if __name__ == '__main__':
    main()
