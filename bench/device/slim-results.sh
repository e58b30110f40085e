#!/usr/bin/env bash
# Runs bench/device/run-all.sh, then keeps only the refine model's OBJ + MTL + texture in each result.zip (and the
# reports), so that more zips fit in what the device call returns (8 files of 16 MiB, ~60 MB in all). Same
# environment as run-all.sh (TIMEOUT defaults to 520 s here: the repacking needs the rest of a 600 s call);
# KEEP (default '^refine/.*\.(obj|mtl|png)$') picks the zip entries to keep.
set -u -o pipefail
REAL_OUT=$(realpath -m "${OUT:-/tmp/out}")
mkdir -p "$REAL_OUT"
rm -rf /tmp/slim-out /tmp/slim && mkdir -p /tmp/slim-out /tmp/slim
OUT=/tmp/slim-out TIMEOUT=${TIMEOUT:-520} bash "$(dirname "$0")/run-all.sh" "$@"
cd /tmp/slim && cat /tmp/slim-out/results.tar.gz.* | tar -xz || { echo "slim-results: could not unpack the results"; exit 1; }
python3 - "${KEEP:-^refine/.*\.(obj|mtl|png)$}" <<'PY'
import glob, json, re, sys, zipfile
keep = re.compile(sys.argv[1])
for path in glob.glob('*/result.zip'):
    try:
        with zipfile.ZipFile(path) as z:
            entries = [(i.filename, z.read(i)) for i in z.infolist() if keep.search(i.filename)]
            report = json.loads(z.read('report.json'))
    except Exception as e:
        # left as it came (it may be too large to come back whole)
        print(f'slim-results: {path} left unchanged ({e})')
        continue
    names = {n for n, _ in entries}
    # the report lists only the meshes that stay, so that the evaluator scores those
    report['meshes'] = [m for m in report.get('meshes', []) if m.get('obj') in names]
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
        for name, data in entries: z.writestr(name, data)
        z.writestr('report.json', json.dumps(report))
PY
tar -czf /tmp/results.tar.gz . && cd "$REAL_OUT" && split -b 15M -d /tmp/results.tar.gz results.tar.gz. && rm /tmp/results.tar.gz && ls -la "$REAL_OUT"
