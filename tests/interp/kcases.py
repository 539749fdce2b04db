"""Writes single-node kernel cases (the text format of tests/interp/ktest.h) to stdout.

  kcases.py onnx OP[,OP..]   cases from ONNX's node tests (libonnx-testdata) for those ops
  kcases.py gen SUITE        cases computed here with numpy (see SUITES below)

The ONNX models are read with the onnx package; older opset forms are rewritten the way
quantc's importer does (attributes that became inputs), so each case has opset-17 meaning.
"""
import os
import sys

import numpy as np

TESTDATA = '/usr/share/libonnx-testdata/data/node'

QC = {np.dtype(np.float32): 'f32', np.dtype(np.float64): 'f64', np.dtype(np.float16): 'f16',
      np.dtype(np.int8): 'i8', np.dtype(np.int16): 'i16', np.dtype(np.int32): 'i32',
      np.dtype(np.int64): 'i64', np.dtype(np.uint8): 'u8', np.dtype(np.uint16): 'u16',
      np.dtype(np.uint32): 'u32', np.dtype(np.uint64): 'u64', np.dtype(np.bool_): 'bool'}


def tensor(a, dt=None):
    """'DTYPE RANK DIMS.. HEX'; dt='bf16' takes a as the uint16 bit patterns."""
    a = np.ascontiguousarray(a)
    name = dt or QC[a.dtype]
    hx = a.astype(a.dtype.newbyteorder('<')).tobytes().hex() or '-'
    return ' '.join([name, str(a.ndim)] + [str(d) for d in a.shape] + [hx])


def shape_only(a, dt=None):
    return ' '.join([dt or QC[a.dtype], str(a.ndim)] + [str(d) for d in a.shape])


def fmt_float(v):
    return repr(float(np.float32(v)))


class Case:
    def __init__(self, name, op):
        self.lines = ['case ' + name, 'op ' + op]

    def attr(self, name, v, kind=None):
        if kind == 't':
            self.lines.append('attr %s t %s' % (name, tensor(v)))
        elif isinstance(v, (bool, int, np.integer)):
            self.lines.append('attr %s i %d' % (name, int(v)))
        elif isinstance(v, (float, np.floating)):
            self.lines.append('attr %s f %s' % (name, fmt_float(v)))
        elif isinstance(v, (str, bytes)):
            self.lines.append('attr %s s %s' % (name, v.decode() if isinstance(v, bytes) else v))
        elif kind == 'fs' or (len(v) and isinstance(v[0], (float, np.floating))):
            self.lines.append('attr %s fs %d %s' % (name, len(v), ' '.join(fmt_float(x) for x in v)))
        else:
            self.lines.append('attr %s is %d %s' % (name, len(v), ' '.join(str(int(x)) for x in v)))
        return self

    def inp(self, a, dt=None):
        self.lines.append('in -' if a is None else 'in ' + tensor(a, dt))
        return self

    def out(self, a, dt=None, skip=False):
        self.lines.append(('outskip ' + shape_only(a, dt)) if skip else ('out ' + tensor(a, dt)))
        return self

    def tol(self, rtol, atol):
        self.lines.append('tol %g %g' % (rtol, atol))
        return self

    def err(self, msg):
        self.lines.append('err ' + msg)
        return self

    def emit(self):
        print('\n'.join(self.lines + ['end']))


# ---- ONNX node tests ---------------------------------------------------------------------

SKIP = {
    'test_cast_FLOAT_to_STRING', 'test_cast_STRING_to_FLOAT', 'test_castlike_FLOAT_to_STRING',
    'test_castlike_STRING_to_FLOAT', 'test_castlike_FLOAT_to_STRING_expanded',
    'test_castlike_STRING_to_FLOAT_expanded', 'test_identity_opt', 'test_identity_sequence',
}


def onnx_cases(ops):
    import onnx
    from onnx import numpy_helper
    for t in sorted(os.listdir(TESTDATA)):
        if t in SKIP:
            continue
        try:
            m = onnx.load(os.path.join(TESTDATA, t, 'model.onnx'))
        except Exception:
            continue
        if len(m.graph.node) != 1 or m.graph.node[0].op_type not in ops:
            continue
        node = m.graph.node[0]
        opset = max(o.version for o in m.opset_import if o.domain in ('', 'ai.onnx'))

        def load(path, vi):
            tp = onnx.TensorProto()
            with open(path, 'rb') as f:
                tp.ParseFromString(f.read())
            want = vi.type.tensor_type.elem_type
            if want == onnx.TensorProto.BFLOAT16 or tp.data_type == onnx.TensorProto.BFLOAT16:
                if tp.data_type == onnx.TensorProto.BFLOAT16 and not tp.raw_data:
                    bits = np.array(tp.int32_data, dtype=np.uint16)
                elif tp.data_type == onnx.TensorProto.BFLOAT16:
                    bits = np.frombuffer(tp.raw_data, dtype=np.uint16)
                else:
                    bits = numpy_helper.to_array(tp).astype(np.uint16)
                return bits.reshape(tuple(tp.dims)), 'bf16'
            return numpy_helper.to_array(tp), None

        ds = os.path.join(TESTDATA, t, 'test_data_set_0')
        inputs = {vi.name: load(os.path.join(ds, 'input_%d.pb' % i), vi)
                  for i, vi in enumerate(m.graph.input)}
        outputs = [load(os.path.join(ds, 'output_%d.pb' % i), vi)
                   for i, vi in enumerate(m.graph.output)]
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        extra = []  # attributes that opset 13 turned into inputs
        if node.op_type in ('Unsqueeze', 'Squeeze', 'ReduceSum') and opset < 13 and 'axes' in attrs:
            extra = [(np.array(attrs.pop('axes'), dtype=np.int64), None)]
        if node.op_type == 'Dropout' and opset < 12:
            attrs.pop('ratio', None)
        c = Case(t, node.op_type)
        for k, v in attrs.items():
            if isinstance(v, onnx.TensorProto):
                c.attr(k, numpy_helper.to_array(v), 't')
            elif isinstance(v, list) and v and isinstance(v[0], float):
                c.attr(k, v, 'fs')
            else:
                c.attr(k, v)
        for name in node.input:
            if name == '':
                c.inp(None)
            else:
                c.inp(*inputs[name])
        for a, dt in extra:
            c.inp(a, dt)
        random = t.startswith('test_training_dropout') and 'zero_ratio' not in t
        for a, dt in outputs:
            c.out(a, dt, skip=random)
        if t in ('test_cast_FLOAT_to_BFLOAT16', 'test_castlike_FLOAT_to_BFLOAT16',
                 'test_castlike_FLOAT_to_BFLOAT16_expanded'):
            c.tol(8e-3, 0)  # ONNX 1.12's expected values truncate; quantc rounds to nearest even
        c.emit()


# ---- numpy-computed cases ----------------------------------------------------------------

rng = np.random.default_rng(1234)


def rand(shape, dt=np.float32, lo=-3, hi=3):
    if np.dtype(dt) == np.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if np.issubdtype(dt, np.integer):
        info = np.iinfo(dt)
        return rng.integers(max(info.min, -100), min(info.max, 100), size=shape, endpoint=True).astype(dt)
    return rng.uniform(lo, hi, size=shape).astype(dt)


def suite_broadcast():
    shapes = [((), ()), ((3,), ()), ((), (4,)), ((2, 3, 4), (4,)), ((2, 3, 4), (3, 1)),
              ((1, 4, 1, 6), (3, 1, 5, 6)), ((2, 0, 3), (1, 3)), ((2, 0, 3), ()),
              ((5, 1), (1, 7)), ((1,), (6,)), ((2, 3, 4, 5), (2, 1, 4, 1)),
              ((64, 3, 17, 31), (3, 1, 1)), ((1, 1), (1,)), ((7, 1, 1, 1, 1, 2), (3, 1, 1, 4, 2))]
    ops = {'Add': np.add, 'Sub': np.subtract, 'Mul': np.multiply, 'Div': np.divide,
           'Max': np.maximum, 'Min': np.minimum, 'Pow': None,
           'Equal': np.equal, 'Less': np.less, 'LessOrEqual': np.less_equal,
           'Greater': np.greater, 'GreaterOrEqual': np.greater_equal}
    for i, (sa, sb) in enumerate(shapes):
        for op, f in ops.items():
            a, b = rand(sa), rand(sb)
            if op == 'Div':
                b = np.where(np.abs(b) < 0.1, 1, b).astype(np.float32)
            if op == 'Pow':
                a = np.abs(a).astype(np.float32)
                f = np.power
            with np.errstate(all='ignore'):
                y = f(a, b)
            Case('bcast_%s_%d' % (op, i), op).inp(a).inp(b).out(np.asarray(y)).emit()
            Case('bcast_%s_%d_swapped' % (op, i), op).inp(b if op != 'Pow' else np.abs(b).astype(np.float32)).inp(a).out(
                np.asarray(f(b if op != 'Pow' else np.abs(b).astype(np.float32), a))).emit()
    # every numeric dtype through the arithmetic and comparison rows
    for dt in [np.float64, np.float16, np.int8, np.int16, np.int32, np.int64, np.uint8,
               np.uint16, np.uint32, np.uint64]:
        a, b = rand((3, 4, 5), dt), rand((4, 1), dt)
        name = QC[np.dtype(dt)]
        for op, f in [('Add', np.add), ('Sub', np.subtract), ('Mul', np.multiply),
                      ('Max', np.maximum), ('Min', np.minimum), ('Equal', np.equal),
                      ('Greater', np.greater), ('LessOrEqual', np.less_equal)]:
            with np.errstate(all='ignore'):
                y = np.asarray(f(a, b))
            c = Case('dtype_%s_%s' % (op, name), op).inp(a).inp(b).out(y)
            if dt == np.float16:
                c.tol(1e-3, 1e-3)
            c.emit()
    # integer wrap-around
    for dt in [np.int8, np.int32, np.int64, np.uint8, np.uint64]:
        info = np.iinfo(dt)
        a = np.array([info.max, info.min, info.max, 7], dtype=dt)
        b = np.array([1, -1 if info.min < 0 else 1, info.max, 3], dtype=dt)
        with np.errstate(all='ignore'):
            Case('wrap_add_%s' % QC[np.dtype(dt)], 'Add').inp(a).inp(b).out(a + b).emit()
            Case('wrap_mul_%s' % QC[np.dtype(dt)], 'Mul').inp(a).inp(b).out(a * b).emit()
    # bool logic
    for op, f in [('And', np.logical_and), ('Or', np.logical_or), ('Xor', np.logical_xor)]:
        a, b = rand((2, 3, 4), np.bool_), rand((3, 1), np.bool_)
        Case('logic_' + op, op).inp(a).inp(b).out(f(a, b)).emit()
        Case('logic_' + op + '_scalar', op).inp(np.array(True)).inp(b).out(f(True, b)).emit()
    # Where with every element size and three-way broadcasting
    for dt in [np.float32, np.float64, np.int8, np.int16, np.int64, np.bool_]:
        c, x, y = rand((4, 1, 5), np.bool_), rand((3, 5), dt), rand((4, 3, 1), dt)
        Case('where_' + QC[np.dtype(dt)], 'Where').inp(c).inp(x).inp(y).out(np.where(c, x, y)).emit()
    # variadic
    xs = [rand((3, 1, 4)), rand((2, 1)), rand((4,)), rand(())]
    for op, f in [('Max', np.maximum), ('Min', np.minimum), ('Sum', np.add)]:
        y = xs[0]
        for x in xs[1:]:
            y = f(y, x)
        c = Case('variadic_' + op, op)
        for x in xs:
            c.inp(x)
        c.out(y.astype(np.float32)).emit()
    c = Case('variadic_Mean', 'Mean')
    for x in xs:
        c.inp(x)
    c.out(((xs[0] + xs[1] + xs[2] + xs[3]) / 4).astype(np.float32)).emit()
    # large enough to run on the pool, with a row shape that is not a multiple of anything
    a, b = rand((3, 67, 1021)), rand((67, 1))
    Case('large_add', 'Add').inp(a).inp(b).out(a + b).emit()
    Case('large_mul_scalar', 'Mul').inp(a).inp(np.float32(0.5)).out(a * np.float32(0.5)).emit()
    # NaN propagation in Max/Min
    a = np.array([np.nan, 1, 2, np.nan], dtype=np.float32)
    b = np.array([1, np.nan, 3, np.nan], dtype=np.float32)
    Case('max_nan', 'Max').inp(a).inp(b).out(np.maximum(a, b)).emit()
    Case('min_nan', 'Min').inp(a).inp(b).out(np.minimum(a, b)).emit()
    # errors
    Case('err_bcast', 'Add').inp(rand((2, 3))).inp(rand((4,))).out(rand((2, 3))).err(
        "node 'err_bcast' (Add): shapes [2, 3] and [4] do not broadcast").emit()
    Case('err_dtype', 'Add').inp(rand((2, 3))).inp(rand((3,), np.int32)).out(rand((2, 3))).err(
        "node 'err_dtype' (Add): input 1 has dtype i32, expected f32").emit()
    Case('err_fmod', 'Mod').inp(rand((2,))).inp(rand((2,))).out(rand((2,))).err(
        "node 'err_fmod' (Mod): fmod must be 1 for f32 inputs").emit()
    Case('err_logic', 'And').inp(rand((2,))).inp(rand((2,))).out(rand((2,), np.bool_)).err(
        "node 'err_logic' (And): inputs must be bool, not f32").emit()
    Case('err_unary_dtype', 'Exp').inp(rand((2,), np.int32)).out(rand((2,), np.int32)).err(
        "node 'err_unary_dtype' (Exp): dtype i32 is not supported").emit()


def suite_intmath():
    # Mod: Python's sign rule (fmod=0) and C's (fmod=1); division by zero gives 0 here
    for dt in [np.int8, np.int16, np.int32, np.int64]:
        a = np.array([-7, 7, -7, 7, 0, -1, 5, -128 if dt == np.int8 else -100], dtype=dt)
        b = np.array([3, -3, -3, 3, 5, 4, 1, -1], dtype=dt)
        name = QC[np.dtype(dt)]
        Case('mod_' + name, 'Mod').inp(a).inp(b).out(np.mod(a, b)).emit()
        Case('fmod_' + name, 'Mod').attr('fmod', 1).inp(a).inp(b).out(np.fmod(a, b)).emit()
        q = np.array([int(x / y) if y else 0 for x, y in zip(a.astype(np.int64), b.astype(np.int64))])
        Case('div_' + name, 'Div').inp(a).inp(b).out(q.astype(dt)).emit()
        z = np.zeros_like(b)
        Case('divzero_' + name, 'Div').inp(a).inp(z).out(np.zeros_like(a)).emit()
        Case('modzero_' + name, 'Mod').inp(a).inp(z).out(np.zeros_like(a)).emit()
        info = np.iinfo(dt)
        mn = np.array([info.min], dtype=dt)
        m1 = np.array([-1], dtype=dt)
        Case('divmin_' + name, 'Div').inp(mn).inp(m1).out(mn).emit()
        Case('modmin_' + name, 'Mod').inp(mn).inp(m1).out(np.zeros_like(mn)).emit()
    for dt in [np.uint8, np.uint32, np.uint64]:
        a = rand((20,), dt)
        b = rand((20,), dt) + 1
        Case('mod_' + QC[np.dtype(dt)], 'Mod').inp(a).inp(b).out(np.mod(a, b)).emit()
        Case('div_' + QC[np.dtype(dt)], 'Div').inp(a).inp(b).out(a // b).emit()
    # unary on integers
    for dt in [np.int8, np.int32, np.int64]:
        a = np.array([-5, 0, 3, np.iinfo(dt).min, np.iinfo(dt).max], dtype=dt)
        with np.errstate(all='ignore'):
            Case('abs_' + QC[np.dtype(dt)], 'Abs').inp(a).out(np.abs(a)).emit()
            Case('neg_' + QC[np.dtype(dt)], 'Neg').inp(a).out(-a).emit()
        Case('sign_' + QC[np.dtype(dt)], 'Sign').inp(a).out(np.sign(a)).emit()
        Case('relu_' + QC[np.dtype(dt)], 'Relu').inp(a).out(np.maximum(a, 0)).emit()
        lo, hi = np.array(-2, dtype=dt), np.array(2, dtype=dt)
        Case('clip_' + QC[np.dtype(dt)], 'Clip').inp(a).inp(lo).inp(hi).out(np.clip(a, lo, hi)).emit()
    a = np.array([0, 5, 200], dtype=np.uint8)
    Case('abs_u8', 'Abs').inp(a).out(a).emit()
    Case('sign_u8', 'Sign').inp(a).out(np.sign(a)).emit()
    # Pow on integers and mixed types
    a = np.array([2, 3, -2, 5], dtype=np.int32)
    b = np.array([3, 2, 3, 0], dtype=np.int32)
    Case('pow_i32', 'Pow').inp(a).inp(b).out(np.power(a, b)).emit()
    Case('pow_i64_f32', 'Pow').inp(a.astype(np.int64)).inp(np.array([0.5, 2, 3, 1.5], np.float32)).out(
        np.array([1, 9, -8, 11], dtype=np.int64)).emit()
    Case('pow_f32_i64', 'Pow').inp(np.array([1.5, -2, 4], np.float32)).inp(np.array([2, 3, -1], np.int64)).out(
        np.array([2.25, -8, 0.25], np.float32)).emit()


def suite_unary():
    x = np.concatenate([rand((1000,), lo=-20, hi=20), np.array([0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 1e-8, 88, -88, 100, -100], np.float32)]).astype(np.float32)
    xp = np.abs(x) + np.float32(0.01)
    xu = np.clip(x / 25, -0.99, 0.99).astype(np.float32)
    sig = lambda v: 1 / (1 + np.exp(-v.astype(np.float64)))
    with np.errstate(all='ignore'):
        cases = [
            ('Abs', x, np.abs(x), {}), ('Neg', x, -x, {}), ('Exp', x, np.exp(x.astype(np.float64)), {}),
            ('Log', xp, np.log(xp), {}), ('Sqrt', xp, np.sqrt(xp), {}), ('Reciprocal', xp, 1 / xp, {}),
            ('Floor', x, np.floor(x), {}), ('Ceil', x, np.ceil(x), {}), ('Round', x, np.round(x), {}),
            ('Sign', x, np.sign(x), {}), ('Tanh', x, np.tanh(x), {}), ('Sin', x, np.sin(x), {}),
            ('Cos', x, np.cos(x), {}), ('Tan', xu, np.tan(xu), {}), ('Asin', xu, np.arcsin(xu), {}),
            ('Acos', xu, np.arccos(xu), {}), ('Atan', x, np.arctan(x), {}), ('Sinh', xu, np.sinh(xu), {}),
            ('Cosh', xu, np.cosh(xu), {}), ('Asinh', x, np.arcsinh(x), {}), ('Acosh', xp + 1, np.arccosh(xp + 1), {}),
            ('Atanh', xu, np.arctanh(xu), {}), ('Relu', x, np.maximum(x, 0), {}),
            ('Sigmoid', x, sig(x), {}), ('Softplus', x, np.logaddexp(0, x.astype(np.float64)), {}),
            ('Softsign', x, x / (1 + np.abs(x)), {}),
            ('HardSwish', x, x * np.clip(x / 6 + 0.5, 0, 1), {}),
            ('HardSigmoid', x, np.clip(0.3 * x + 0.4, 0, 1), {'alpha': 0.3, 'beta': 0.4}),
            ('LeakyRelu', x, np.where(x < 0, 0.07 * x, x), {'alpha': 0.07}),
            ('Elu', x, np.where(x < 0, 1.5 * np.expm1(x), x), {'alpha': 1.5}),
            ('Celu', x, np.maximum(0, x) + np.minimum(0, 0.8 * np.expm1(x / 0.8)), {'alpha': 0.8}),
            ('Selu', x, np.where(x > 0, 1.2 * x, 1.2 * (1.6 * np.exp(x) - 1.6)), {'alpha': 1.6, 'gamma': 1.2}),
            ('ThresholdedRelu', x, np.where(x > 1.1, x, 0), {'alpha': 1.1}),
            ('Shrink', x, np.where(x < -0.7, x + 0.2, np.where(x > 0.7, x - 0.2, 0)), {'bias': 0.2, 'lambd': 0.7}),
        ]
    for op, xin, y, attrs in cases:
        for dt in [np.float32, np.float64, np.float16]:
            c = Case('unary_%s_%s' % (op, QC[np.dtype(dt)]), op)
            for k, v in attrs.items():
                c.attr(k, v)
            xi = xin.astype(dt)
            with np.errstate(all='ignore'):
                yy = np.asarray(y).astype(dt) if dt != np.float16 else np.asarray(y).astype(np.float32)
            if dt == np.float16:
                # the reference from the f16-rounded input, computed in float64
                c.inp(xi)
                continue_ref = REF16.get(op)
                if continue_ref is None:
                    continue
                with np.errstate(all='ignore'):
                    yy = continue_ref(xi.astype(np.float64), attrs).astype(np.float16)
                c.out(yy).tol(2e-3, 2e-3).emit()
                continue
            c.inp(xi).out(yy)
            c.tol(1e-5 if dt == np.float64 else 1e-4, 1e-6)
            c.emit()
    # large tensor on the pool
    big = rand((300001,), lo=-5, hi=5)
    Case('unary_big_relu', 'Relu').inp(big).out(np.maximum(big, 0)).emit()
    Case('unary_big_sigmoid', 'Sigmoid').inp(big).out(sig(big).astype(np.float32)).tol(1e-5, 1e-6).emit()
    # Clip variants
    for lo, hi in [(-1.0, 1.0), (None, 0.5), (-0.5, None), (None, None), (1.0, -1.0)]:
        c = Case('clip_%s_%s' % (lo, hi), 'Clip').inp(x)
        c.inp(None if lo is None else np.float32(lo)).inp(None if hi is None else np.float32(hi))
        y = x
        if lo is not None:
            y = np.maximum(y, np.float32(lo))
        if hi is not None:
            y = np.minimum(y, np.float32(hi))
        c.out(y).emit()
    c = Case('clip_f16', 'Clip').inp(x.astype(np.float16)).inp(np.float16(-1)).inp(np.float16(2))
    c.out(np.clip(x.astype(np.float16), -1, 2)).emit()
    # IsNaN / IsInf / Not / Identity / Dropout
    v = np.array([np.nan, np.inf, -np.inf, 0, -1, 3], dtype=np.float32)
    for dt in [np.float32, np.float64, np.float16]:
        Case('isnan_' + QC[np.dtype(dt)], 'IsNaN').inp(v.astype(dt)).out(np.isnan(v)).emit()
        Case('isinf_' + QC[np.dtype(dt)], 'IsInf').inp(v.astype(dt)).out(np.isinf(v)).emit()
        Case('isinf_neg_' + QC[np.dtype(dt)], 'IsInf').attr('detect_positive', 0).inp(v.astype(dt)).out(np.isneginf(v)).emit()
    b = rand((3, 5), np.bool_)
    Case('not', 'Not').inp(b).out(~b).emit()
    for dt in [np.float32, np.int64, np.bool_, np.uint16]:
        a = rand((2, 3), dt)
        Case('identity_' + QC[np.dtype(dt)], 'Identity').inp(a).out(a).emit()
    a = rand((4, 5))
    Case('dropout_infer', 'Dropout').inp(a).out(a).out(np.ones((4, 5), np.bool_)).emit()
    Case('dropout_train_off', 'Dropout').inp(a).inp(np.float32(0.7)).inp(np.array(False)).out(a).emit()
    Case('dropout_train_zero', 'Dropout').inp(a).inp(np.float32(0)).inp(np.array(True)).out(a).out(np.ones((4, 5), np.bool_)).emit()


REF16 = {
    'Abs': lambda v, a: np.abs(v), 'Neg': lambda v, a: -v, 'Exp': lambda v, a: np.exp(v),
    'Log': lambda v, a: np.log(v), 'Sqrt': lambda v, a: np.sqrt(v), 'Reciprocal': lambda v, a: 1 / v,
    'Floor': lambda v, a: np.floor(v), 'Ceil': lambda v, a: np.ceil(v), 'Round': lambda v, a: np.round(v),
    'Sign': lambda v, a: np.sign(v), 'Tanh': lambda v, a: np.tanh(v), 'Relu': lambda v, a: np.maximum(v, 0),
    'Sigmoid': lambda v, a: 1 / (1 + np.exp(-v)), 'LeakyRelu': lambda v, a: np.where(v < 0, a['alpha'] * v, v),
    'HardSigmoid': lambda v, a: np.clip(np.float32(a['alpha']) * v + np.float32(a['beta']), 0, 1),
    'Erf': None,
}


SUITES = {'broadcast': suite_broadcast, 'intmath': suite_intmath, 'unary': suite_unary}


def main():
    if sys.argv[1] == 'onnx':
        onnx_cases(set(sys.argv[2].split(',')))
    else:
        for s in sys.argv[2].split(','):
            SUITES[s]()


if __name__ == '__main__':
    main()
