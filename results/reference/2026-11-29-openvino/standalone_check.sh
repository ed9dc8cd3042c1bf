#!/bin/bash
# The teacher, its OpenVINO INT8 and its ORT INT8, one fresh process per runtime, (100, L) random
# ids: model time only. Run from the clone of a `make run`:
#   bash standalone_check.sh TEACHER_FOLDER OV_INT8_ARTIFACT ORT_INT8_ARTIFACT
# (this run: the teacher in ~/.cache/rankbench/teachers/fd91dccf79761699/model, and
# runs/default/artifacts/quantize-openvino-int8-4d354dabcff364b5 / quantize-ort-dynamic-d7206cd4bcdeaca4)
T=$1; OV=$2; ORT=$3
P=.venv/bin/python
B=$(dirname "$0")/standalone_check.py
uptime
for L in 64 48; do
  $P $B torch $T $L
  $P $B ort $T/onnx/model.onnx $L
  $P $B ov:f32 $T/onnx/openvino/model.xml $L
  $P $B ov:bf16 $T/onnx/openvino/model.xml $L
  $P $B ov:f32 $OV/model.xml $L
  $P $B ov:bf16 $OV/model.xml $L
  $P $B ort $ORT/model.onnx $L
done
uptime
