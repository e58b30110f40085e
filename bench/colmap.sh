#!/bin/bash
# COLMAP 3.8 (Debian: apt-get install colmap) on a folder of photos, CPU only, default SIFT, exhaustive matching, the
# issue-6 baseline: `bash bench/colmap.sh <name> <image dir>`; prints the three step times and the registered views.
# Work files go to ${COLMAP_WORK:-/tmp/colmap}-<name>.
# usage: colmap.sh <name> <image dir> [extra feature_extractor args]
set -e
name=$1; img=$2; shift 2
W=${COLMAP_WORK:-/tmp/colmap}-$name; rm -rf $W; mkdir -p $W/sparse
export QT_QPA_PLATFORM=offscreen
t0=$(date +%s.%N)
colmap feature_extractor --database_path $W/db.db --image_path $img --SiftExtraction.use_gpu 0 --ImageReader.single_camera 1 "$@" > $W/fe.log 2>&1
t1=$(date +%s.%N)
colmap exhaustive_matcher --database_path $W/db.db --SiftMatching.use_gpu 0 > $W/em.log 2>&1
t2=$(date +%s.%N)
colmap mapper --database_path $W/db.db --image_path $img --output_path $W/sparse > $W/map.log 2>&1
t3=$(date +%s.%N)
echo "$name features $(echo "$t1-$t0"|bc) matching $(echo "$t2-$t1"|bc) mapper $(echo "$t3-$t2"|bc) total $(echo "$t3-$t0"|bc)"
ls $W/sparse
for m in $W/sparse/*; do colmap model_converter --input_path $m --output_path $m --output_type TXT >/dev/null 2>&1; echo "$m registered $(grep -v '^#' $m/images.txt | awk 'NR%2==1' | grep -c .)"; done
