#!/usr/bin/env bash
# Prepares the ignored .device/ folder for H200 runs (see docs/benchmarks.md and ../shared/device/README.md).
#   bash bench/device/prepare.sh payload        # .device/a, .device/b: headless Chromium (pack-chromium.sh, ~5 min)
#   bash bench/device/prepare.sh www [net]      # .device/www: the built app without samples, maps, weights' onnx, wasm
#                                               # (net: .device/wwwnet with ORT's wasm and the network's weights)
#   bash bench/device/prepare.sh data NAME SRC [SUBDIR=SRC ...]   # .device/NAME/<SUBDIR>: copies of captures + manifest.json
# Then, on the device (three calls while the machine stays warm, see run-all.sh):
#   1. carry .device/a:  mkdir -p /tmp/cr/chromium && xz -dc .device/a/hs.xz > /tmp/cr/chromium/chromium-headless-shell && chmod +x /tmp/cr/chromium/chromium-headless-shell
#   2. carry .device/b:  tar -xJf .device/b/cr.tar.xz -C /tmp/cr
#   3. carry .device/www .device/s .device/NAME:  DATA=.device/NAME bash bench/device/run-all.sh 'case=/run.html?job=...'
set -euo pipefail
cd "$(dirname "$0")/../.."
case "${1:-}" in
  payload)
    bash ../shared/device/pack-chromium.sh .device
    mkdir -p .device/s && cp ../shared/device/run-chromium.sh ../shared/device/serve.py .device/s/ ;;
  www)
    npx vite build --logLevel warn --outDir /tmp/dist-dev --emptyOutDir
    out=.device/www; [ "${2:-}" = net ] && out=.device/wwwnet
    rm -rf "$out" && cp -r /tmp/dist-dev "$out" && rm -rf "$out/samples"
    find "$out" -name '*.map' -delete
    if [ "${2:-}" != net ]; then find "$out" -name '*.wasm' -delete; rm -f "$out"/weights/*.onnx
    else find "$out" -name '*.wasm' -exec xz -T0 -6 {} \; ; rm -f "$out"/weights/mvsnet-random-*.onnx; fi   # run-all.sh unpacks
    du -sh "$out" ;;
  data)
    name=$2; shift 2
    rm -rf ".device/$name"; mkdir -p ".device/$name"
    for spec in "$@"; do
      src=${spec#*=}; sub=${spec%%=*}; [ "$sub" = "$spec" ] && sub=$(basename "$src")
      cp -rL "$src" ".device/$name/$sub"
      (cd ".device/$name/$sub" && python3 -c 'import json,os; fs=sorted(os.path.relpath(os.path.join(r,f),".") for r,_,n in os.walk(".") for f in n if f!="manifest.json"); json.dump({"files":fs},open("manifest.json","w"))')
    done
    du -sh ".device/$name" ;;
  *) sed -n 2,12p "$0"; exit 2 ;;
esac
