#!/usr/bin/env bash
# Runs several pages of the built app, one after the other, on the lent GPU machine (one device call, one warm machine).
# Usage (on the GPU machine, from the repository root the device tool runs in):
#   RUNNER=.device/s WWW=.device/www DATA=.device/<data> bash bench/device/run-all.sh 'name=/run.html?job=...' ...
# RUNNER holds run-chromium.sh + serve.py from ../shared/device (prepare.sh copies them). Each case lands in
# $OUT/<name>/ (report.json, browser-log.jsonl; with zip=1 the result as result.zip), its console in $OUT/<name>.txt,
# and one summary line per case is printed. TIMEOUT (default 560 s) bounds the whole call.
set -u
RUNNER=${RUNNER:-.device/s}; WWW=${WWW:-.device/www}; DATA=${DATA:-.device/data}; TIMEOUT=${TIMEOUT:-560}
BASE=${OUT:-/tmp/out}; mkdir -p "$BASE"
start=$(date +%s)
# CASES=<file>: one 'name=/page?...' per line, after the arguments (device commands are limited to 2,000 characters)
if [ -n "${CASES:-}" ]; then while IFS= read -r line; do [ -n "$line" ] && set -- "$@" "$line"; done < "$CASES"; fi
# prepare.sh ships ORT's wasm xz-packed (the carry limit): unpack it in place
find "$WWW" -name '*.wasm.xz' -exec xz -dkf {} \; 2>/dev/null
for spec in "$@"; do
  name=${spec%%=*}; page=${spec#*=}
  left=$(( TIMEOUT - ($(date +%s) - start) ))
  if [ $left -lt 15 ]; then echo "$name: skipped, no time left"; continue; fi
  OUT="$BASE/$name" bash "$RUNNER/run-chromium.sh" --www "$WWW" --data "$DATA" --path "$page" --timeout $left > "$BASE/$name.txt" 2>&1
  rc=$?
  python3 - "$BASE/$name" "$name" $rc <<'PY'
import base64, glob, json, os, sys
d, name, rc = sys.argv[1], sys.argv[2], sys.argv[3]
for f in sorted(glob.glob(os.path.join(d, 'report-*.json'))):
    b = open(f, 'rb').read()
    if b[:1] not in (b'{', b'['):
        try:
            open(os.path.join(d, 'result.zip'), 'wb').write(base64.b64decode(b))
        except Exception as e:
            print(f'{name}: {f} is neither JSON nor base64 ({e})')
        os.remove(f)
try:
    r = json.load(open(os.path.join(d, 'report.json')))
except Exception as e:
    print(f'{name}: rc={rc}, no report ({e})'); sys.exit()
def short(o, n=400):
    s = json.dumps(o); return s if len(s) <= n else s[:n] + '...'
if 'models' in r:
    parts = [f"status={r.get('status')}", f"total={r.get('totalMs', 0) / 1000:.1f}s"]
    for m in r.get('models', []):
        det = m.get('details') or {}
        mvs = det.get('mvs') or {}
        keep = det.get('keep') or {}
        parts.append(f"{m.get('name')}: faces={det.get('faces')} kept={mvs.get('keptFraction', '-')} keep={short(keep, 120) if keep else '-'}")
    peak = (r.get('vram') or {}).get('peakBytes')
    if peak: parts.append(f'vram peak {peak / 2**20:.0f} MiB')
    print(f'{name}: rc={rc} ' + '; '.join(parts))
else:
    res = r.get('result', r)
    if isinstance(res, dict) and 'variants' in res:
        print(f'{name}: rc={rc} mvsMs={res.get("mvsMs")} raw={short(res.get("raw"), 300)} variants={short(res.get("variants"), 500)}')
    else:
        print(f'{name}: rc={rc} ' + short(res))
PY
done
echo "all cases: $(( $(date +%s) - start )) s"
# The device returns only a few files: everything goes back as one archive (without the browsers' own logs).
(cd "$BASE" && tar --exclude=chromium.log --exclude=server.log --exclude=done -czf /tmp/results.tar.gz . && rm -rf ./* && split -b 15M -d /tmp/results.tar.gz results.tar.gz. && rm /tmp/results.tar.gz)
# (8 files of 16 MiB at most come back: here cat results.tar.gz.* | tar -xz)
