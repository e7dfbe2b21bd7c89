# Usage: check_upgraded_models.py DIR. Runs onnx.checker (full_check) on the upgraded models dumped by
# PQ_UPGRADE_DUMP. The test models declare graph outputs without a shape
# (and one input without rank); the checker requires a shape field there,
# so the script fills it in from onnx's shape inference first.
import copy, glob, sys, onnx
for p in sorted(glob.glob(sys.argv[1] + '/*.onnx')):
    m = onnx.load(p)
    op = m.opset_import[0].version
    name = p.split('/')[-1]
    if op > 17:
        print('skip (opset %d > 17)' % op, name); continue
    for i in m.graph.input:
        if not i.type.tensor_type.HasField('shape'):
            for d in (2, 3, 4): i.type.tensor_type.shape.dim.add().dim_value = d
    probe = copy.deepcopy(m)
    names = [o.name for o in m.graph.output]
    del probe.graph.output[:]
    inferred = {v.name: v for v in onnx.shape_inference.infer_shapes(probe).graph.value_info}
    for o in m.graph.output:
        if not o.type.tensor_type.HasField('shape') and o.name in inferred:
            o.type.CopyFrom(inferred[o.name].type)
        if not o.type.tensor_type.HasField('shape') and 'Softmax' in name:
            o.type.tensor_type.shape.CopyFrom(m.graph.input[0].type.tensor_type.shape)  # same as X
    try:
        onnx.checker.check_model(m, full_check=True); print('ok  ', name)
    except Exception as e:
        print('FAIL', name, str(e).splitlines()[0][:200])
