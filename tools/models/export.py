"""ONNX export (opset 17, dynamic batch/seq), kindred.* metadata, structural checks and parity fixtures."""

import json
import os

import numpy as np
import onnx
import torch

OPSET = 17


def export_onnx(model, args, path, input_names, output_names, dynamic_axes, metadata):
    """Trace-export, attach metadata_props, run onnx.checker; returns the checked ModelProto."""
    model.eval()
    with torch.no_grad():
        torch.onnx.export(model, tuple(args), path, input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=True)
    proto = onnx.load(path)
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key = key
        entry.value = value
    proto.producer_name = "kindred tools/models"
    proto.doc_string = f"kindred default model; rebuild with /usr/bin/python3 tools/models/build.py"
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, path)
    return proto


def tensor_json(t):
    a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    dtype = {np.dtype("int64"): "int64", np.dtype("float32"): "float32"}[a.dtype]
    return {"dtype": dtype, "dims": list(a.shape), "data": [float(x) if dtype == "float32" else int(x) for x in a.ravel()]}


def fixture_case(name, model, args, input_names, output_names):
    with torch.no_grad():
        outs = model(*args)
    outs = outs if isinstance(outs, tuple) else (outs,)
    return {"name": name,
            "inputs": {n: tensor_json(a) for n, a in zip(input_names, args)},
            "outputs": {n: tensor_json(o) for n, o in zip(output_names, outs)}}


def write_fixture(path, model_file, metadata, cases, hashing_vectors, tolerance):
    doc = {"model": model_file, "tolerance": tolerance, "metadata": metadata,
           "hashing": hashing_vectors, "cases": cases,
           "note": "PyTorch reference outputs written by tools/models/build.py; ONNX Runtime must agree within tolerance"}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


def io_signature(proto):
    """[(name, elem type, dims)] of graph inputs and outputs, for the model card."""
    def dims(v):
        return [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]

    def etype(v):
        name = onnx.TensorProto.DataType.Name(v.type.tensor_type.elem_type).lower()
        return "float32" if name == "float" else name

    inits = {i.name for i in proto.graph.initializer}
    return ([(v.name, etype(v), dims(v)) for v in proto.graph.input if v.name not in inits],
            [(v.name, etype(v), dims(v)) for v in proto.graph.output])
