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
    a = np.array(a, copy=True, order='C')
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
    sq = rand((3, 50), np.float32, lo=-1e19, hi=1e19)
    Case('pow_square', 'Pow').inp(sq).inp(np.float32(2)).out(np.power(sq, np.float32(2))).tol(0, 0).emit()
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


# ---- tensor ops ----------------------------------------------------------------------------

def i64(v):
    return np.array(v, dtype=np.int64)


def suite_movement():
    x = rand((2, 3, 4))
    # Reshape: 0 copies, -1 infers, allowzero keeps zeros
    for shp in [[0, -1], [-1], [4, 0, 2], [2, 3, 2, 2], [0, 0, 0], [24], [1, -1, 1]]:
        want = x.reshape([x.shape[i] if v == 0 else v for i, v in enumerate(shp)])
        Case('reshape_%s' % '_'.join(map(str, shp)), 'Reshape').inp(x).inp(i64(shp)).out(want).emit()
    e = rand((0, 3))
    Case('reshape_allowzero', 'Reshape').attr('allowzero', 1).inp(e).inp(i64([3, 0])).out(e.reshape(3, 0)).emit()
    Case('reshape_empty_infer', 'Reshape').inp(e).inp(i64([-1, 3])).out(e.reshape(-1, 3)).emit()
    Case('reshape_scalar', 'Reshape').inp(np.float32(5)).inp(i64([1, 1])).out(np.full((1, 1), 5, np.float32)).emit()
    Case('reshape_to_scalar', 'Reshape').inp(np.ones((1, 1), np.float32)).inp(i64([])).out(np.float32(1)).emit()
    # Transpose: every permutation of a rank-4 tensor, several dtypes
    import itertools
    y = rand((2, 3, 4, 5))
    for k, perm in enumerate(itertools.permutations(range(4))):
        Case('transpose_%d' % k, 'Transpose').attr('perm', list(perm)).inp(y).out(y.transpose(perm)).emit()
    for dt in [np.int8, np.float16, np.int64, np.bool_]:
        z = rand((3, 1, 5, 2), dt)
        Case('transpose_' + QC[np.dtype(dt)], 'Transpose').inp(z).out(z.transpose()).emit()
    big = rand((64, 48, 33))
    Case('transpose_big', 'Transpose').attr('perm', [2, 0, 1]).inp(big).out(big.transpose(2, 0, 1)).emit()
    # blocked path: the input's unit-stride dim lands inside, in tiles with ragged edges
    for dt in [np.float32, np.float16, np.int8, np.int64]:
        z = rand((3, 9, 40, 37), dt)
        for perm in [(0, 3, 1, 2), (3, 2, 1, 0), (1, 3, 0, 2)]:
            Case('transpose_tiled_%s_%s' % (QC[np.dtype(dt)], ''.join(map(str, perm))), 'Transpose').attr(
                'perm', list(perm)).inp(z).out(z.transpose(perm)).emit()
    # Slice: negative steps, clamping, INT64 extremes, omitted axes/steps
    s = rand((5, 6, 7))
    big_i = np.iinfo(np.int64).max
    small_i = np.iinfo(np.int64).min
    specs = [([1, 0], [4, 6], [0, 1], [1, 2], np.s_[1:4, 0:6:2]),
             ([-1], [small_i], [2], [-1], np.s_[:, :, ::-1]),
             ([4, 5], [0, 1], [0, 1], [-2, -3], np.s_[4:0:-2, 5:1:-3]),
             ([10], [-10], [1], [-1], np.s_[:, 10:-10:-1]),
             ([-100], [big_i], [0], [1], np.s_[-100:]),
             ([2], [2], [0], [1], np.s_[2:2]),
             ([0], [big_i], [-1], [3], np.s_[:, :, 0::3]),
             ([3], [1], [0], [1], np.s_[3:1])]
    for k, (st, en, ax, sp, sl) in enumerate(specs):
        Case('slice_%d' % k, 'Slice').inp(s).inp(i64(st)).inp(i64(en)).inp(i64(ax)).inp(i64(sp)).out(s[sl]).emit()
    Case('slice_default_axes', 'Slice').inp(s).inp(i64([1, -2])).inp(i64([3, 100])).out(s[1:3, -2:]).emit()
    Case('slice_omitted_axes', 'Slice').inp(s).inp(i64([1])).inp(i64([3])).inp(None).inp(i64([2])).out(s[1:3:2]).emit()
    Case('slice_i32', 'Slice').inp(s).inp(np.array([1], np.int32)).inp(np.array([-1], np.int32)).inp(np.array([-1], np.int32)).out(s[:, :, 1:-1]).emit()
    # Pad: constant (with value, negative pads), reflect, edge
    p = rand((2, 3, 4), np.int32)
    Case('pad_constant', 'Pad').inp(p).inp(i64([0, 1, 2, 1, 0, 3])).inp(np.int32(7)).out(
        np.pad(p, [(0, 1), (1, 0), (2, 3)], constant_values=7)).emit()
    Case('pad_zero_default', 'Pad').inp(p).inp(i64([1, 0, 0, 0, 0, 1])).out(np.pad(p, [(1, 0), (0, 0), (0, 1)])).emit()
    Case('pad_negative', 'Pad').inp(p).inp(i64([0, -1, 1, 0, 1, -2])).out(np.pad(p, [(0, 0), (0, 1), (1, 0)])[:, 1:, :-2]).emit()
    Case('pad_reflect', 'Pad').attr('mode', 'reflect').inp(p).inp(i64([1, 2, 3, 1, 0, 3])).out(
        np.pad(p, [(1, 1), (2, 0), (3, 3)], mode='reflect')).emit()
    Case('pad_edge', 'Pad').attr('mode', 'edge').inp(p).inp(i64([2, 0, 5, 0, 4, 1])).out(
        np.pad(p, [(2, 0), (0, 4), (5, 1)], mode='edge')).emit()
    pf = rand((1, 2, 3, 3))
    Case('pad_axes', 'Pad').inp(pf).inp(i64([1, 2, 1, 0])).inp(np.float32(-1)).inp(i64([-1, 2])).out(
        np.pad(pf, [(0, 0), (0, 0), (2, 0), (1, 1)], constant_values=-1)).emit()
    # Concat, Split
    a, b, c = rand((2, 3, 4)), rand((2, 1, 4)), rand((2, 0, 4))
    Case('concat_mid', 'Concat').attr('axis', 1).inp(a).inp(b).inp(c).out(np.concatenate([a, b, c], 1)).emit()
    Case('concat_neg', 'Concat').attr('axis', -1).inp(a).inp(a).out(np.concatenate([a, a], -1)).emit()
    Case('concat_one', 'Concat').attr('axis', 0).inp(a).out(a).emit()
    q = rand((4, 9), np.int16)
    Case('split_equal', 'Split').attr('axis', 1).inp(q).out(q[:, :3]).out(q[:, 3:6]).out(q[:, 6:]).emit()
    Case('split_sizes', 'Split').attr('axis', -1).inp(q).inp(i64([2, 0, 7])).out(q[:, :2]).out(q[:, 2:2]).out(q[:, 2:]).emit()
    # Squeeze, Unsqueeze, Flatten
    u = rand((1, 3, 1, 5))
    Case('squeeze_all', 'Squeeze').inp(u).out(u.reshape(3, 5)).emit()
    Case('squeeze_neg', 'Squeeze').inp(u).inp(i64([-2])).out(u.reshape(1, 3, 5)).emit()
    Case('unsqueeze_mixed', 'Unsqueeze').inp(u).inp(i64([-1, 0, 3])).out(u.reshape(1, 1, 3, 1, 1, 5, 1)).emit()
    Case('unsqueeze_scalar', 'Unsqueeze').inp(np.float32(2)).inp(i64([0])).out(np.array([2], np.float32)).emit()
    for ax in [0, 2, 4, -1]:
        Case('flatten_%d' % ax, 'Flatten').attr('axis', ax).inp(u).out(
            u.reshape(int(np.prod(u.shape[:ax])), -1)).emit()
    # Gather, GatherElements
    g = rand((5, 4, 3))
    idx = np.array([[0, -1], [4, 2], [1, 1]], np.int64)
    for ax in [0, -3]:
        Case('gather_ax%d' % ax, 'Gather').attr('axis', ax).inp(g).inp(idx).out(np.take(g, idx % 5, axis=0)).emit()
    Case('gather_ax2', 'Gather').attr('axis', 2).inp(g).inp(np.array([2, 0], np.int32)).out(np.take(g, [2, 0], axis=2)).emit()
    Case('gather_scalar_idx', 'Gather').attr('axis', 1).inp(g).inp(np.int64(3)).out(g[:, 3]).emit()
    ge_idx = rng.integers(-4, 4, size=(5, 2, 3)).astype(np.int64)
    Case('gather_elements', 'GatherElements').attr('axis', 1).inp(g).inp(ge_idx).out(
        np.take_along_axis(g, ge_idx % 4, axis=1)).emit()
    # Expand, Tile
    ex = rand((3, 1))
    Case('expand_up', 'Expand').inp(ex).inp(i64([2, 1, 4])).out(np.broadcast_to(ex, (2, 3, 4))).emit()
    Case('expand_ones', 'Expand').inp(ex).inp(i64([1, 1])).out(ex).emit()
    Case('expand_scalar', 'Expand').inp(np.float32(3)).inp(i64([2, 2])).out(np.full((2, 2), 3, np.float32)).emit()
    t = rand((2, 3), np.int8)
    Case('tile', 'Tile').inp(t).inp(i64([3, 2])).out(np.tile(t, (3, 2))).emit()
    Case('tile_zero', 'Tile').inp(t).inp(i64([0, 2])).out(np.tile(t, (0, 2))).emit()
    # Range
    Case('range_f', 'Range').inp(np.float32(1)).inp(np.float32(2.05)).inp(np.float32(0.25)).out(
        np.arange(1, 2.05, 0.25, dtype=np.float32)).emit()
    Case('range_i64_neg', 'Range').inp(np.int64(10)).inp(np.int64(-3)).inp(np.int64(-4)).out(np.arange(10, -3, -4)).emit()
    Case('range_empty', 'Range').inp(np.int32(5)).inp(np.int32(1)).inp(np.int32(1)).out(np.arange(5, 1, 1, dtype=np.int32)).emit()
    # DepthToSpace / SpaceToDepth, checked against the spec's reshape-transpose definition
    d = rand((2, 12, 3, 2))
    b = 2
    n_, c_, h_, w_ = d.shape
    dcr = d.reshape(n_, b, b, c_ // 4, h_, w_).transpose(0, 3, 4, 1, 5, 2).reshape(n_, c_ // 4, h_ * b, w_ * b)
    crd = d.reshape(n_, c_ // 4, b, b, h_, w_).transpose(0, 1, 4, 2, 5, 3).reshape(n_, c_ // 4, h_ * b, w_ * b)
    Case('d2s_dcr', 'DepthToSpace').attr('blocksize', 2).inp(d).out(dcr).emit()
    Case('d2s_crd', 'DepthToSpace').attr('blocksize', 2).attr('mode', 'CRD').inp(d).out(crd).emit()
    sd = rand((1, 3, 6, 9))
    s2d = sd.reshape(1, 3, 2, 3, 3, 3).transpose(0, 3, 5, 1, 2, 4).reshape(1, 27, 2, 3)
    Case('s2d', 'SpaceToDepth').attr('blocksize', 3).inp(sd).out(s2d).emit()
    # Shape, Size, Constant, ConstantOfShape, Trilu
    Case('shape_slice', 'Shape').attr('start', -3).attr('end', -1).inp(d).out(i64([12, 3])).emit()
    Case('shape_empty', 'Shape').attr('start', 3).attr('end', 1).inp(d).out(i64([])).emit()
    Case('size_empty', 'Size').inp(rand((3, 0))).out(np.int64(0)).emit()
    Case('const_ints', 'Constant').attr('value_ints', [3, -1]).out(i64([3, -1])).emit()
    Case('const_float', 'Constant').attr('value_float', 2.5).out(np.float32(2.5)).emit()
    Case('const_floats', 'Constant').attr('value_floats', [1.0, 2.5], 'fs').out(np.array([1, 2.5], np.float32)).emit()
    Case('const_int', 'Constant').attr('value_int', 7).out(np.int64(7)).emit()
    Case('const_tensor_u8', 'Constant').attr('value', np.arange(6, dtype=np.uint8).reshape(2, 3), 't').out(
        np.arange(6, dtype=np.uint8).reshape(2, 3)).emit()
    Case('cos_default', 'ConstantOfShape').inp(i64([2, 3])).out(np.zeros((2, 3), np.float32)).emit()
    Case('cos_i64', 'ConstantOfShape').attr('value', i64([-9]), 't').inp(i64([3])).out(i64([-9, -9, -9])).emit()
    tr = rand((2, 3, 5), np.float64)
    for up in [0, 1]:
        for kk in [-1, 0, 2, 9]:
            want = np.triu(tr, kk) if up else np.tril(tr, kk)
            Case('trilu_%d_%d' % (up, kk), 'Trilu').attr('upper', up).inp(tr).inp(np.int64(kk)).out(want).emit()


def suite_reduce():
    x = rand((3, 4, 5, 2), np.float32, lo=0.1, hi=2)
    fns = {'ReduceSum': np.sum, 'ReduceMean': np.mean, 'ReduceMax': np.max, 'ReduceMin': np.min,
           'ReduceProd': np.prod, 'ReduceL1': lambda v, axis, keepdims: np.sum(np.abs(v), axis=axis, keepdims=keepdims),
           'ReduceL2': lambda v, axis, keepdims: np.sqrt(np.sum(v * v, axis=axis, keepdims=keepdims)),
           'ReduceLogSum': lambda v, axis, keepdims: np.log(np.sum(v, axis=axis, keepdims=keepdims)),
           'ReduceLogSumExp': lambda v, axis, keepdims: np.log(np.sum(np.exp(v), axis=axis, keepdims=keepdims)),
           'ReduceSumSquare': lambda v, axis, keepdims: np.sum(v * v, axis=axis, keepdims=keepdims)}
    for axes in [None, [0], [1, 3], [-1, 0], [0, 1, 2], [2], [0, 2]]:
        for keep in [0, 1]:
            for op, f in fns.items():
                ax = None if axes is None else tuple(axes)
                y = np.asarray(f(x.astype(np.float64), axis=ax, keepdims=bool(keep))).astype(np.float32)
                c = Case('%s_%s_%d' % (op, 'all' if axes is None else '_'.join(map(str, axes)), keep), op)
                c.attr('keepdims', keep)
                c.inp(x)
                if op == 'ReduceSum':
                    if axes is not None:
                        c.inp(i64(axes))
                elif axes is not None:
                    c.attr('axes', axes)
                c.out(y).tol(1e-5, 1e-6).emit()
    # integers reduce exactly; empty axes input with noop
    xi = rand((4, 6), np.int32)
    Case('sum_i32', 'ReduceSum').inp(xi).inp(i64([1])).attr('keepdims', 0).out(np.sum(xi, 1).astype(np.int32)).emit()
    Case('max_i32', 'ReduceMax').attr('axes', [0]).inp(xi).out(np.max(xi, 0, keepdims=True)).emit()
    Case('mean_i64', 'ReduceMean').attr('axes', [1]).inp(xi.astype(np.int64)).out(
        np.trunc(np.sum(xi, 1, keepdims=True) / 6).astype(np.int64)).emit()
    xu = np.array([[1, 2**63 + 5, 3], [2**64 - 1, 0, 2**63]], np.uint64)
    Case('max_u64', 'ReduceMax').attr('axes', [1]).inp(xu).out(np.max(xu, 1, keepdims=True)).emit()
    Case('min_u64', 'ReduceMin').attr('axes', [0]).attr('keepdims', 0).inp(xu).out(np.min(xu, 0)).emit()
    Case('sum_noop', 'ReduceSum').attr('noop_with_empty_axes', 1).inp(xi).inp(i64([])).out(xi).emit()
    Case('sum_empty_axes_all', 'ReduceSum').inp(xi).inp(i64([])).out(np.sum(xi, keepdims=True).astype(np.int32)).emit()
    # reducing a zero-size axis gives the identity element
    z = rand((2, 0, 3))
    Case('sum_zero', 'ReduceSum').attr('keepdims', 0).inp(z).inp(i64([1])).out(np.zeros((2, 3), np.float32)).emit()
    Case('prod_zero', 'ReduceProd').attr('axes', [1]).inp(z).out(np.ones((2, 1, 3), np.float32)).emit()
    Case('max_zero', 'ReduceMax').attr('axes', [1]).inp(z).out(np.full((2, 1, 3), -np.inf, np.float32)).emit()
    # big ones: a global average pool and a leading-axis sum
    big = rand((4, 64, 30, 30))
    Case('mean_hw', 'ReduceMean').attr('axes', [2, 3]).inp(big).out(big.astype(np.float64).mean((2, 3), keepdims=True).astype(np.float32)).tol(1e-5, 1e-6).emit()
    Case('sum_n', 'ReduceSum').inp(big).inp(i64([0])).out(big.astype(np.float64).sum(0, keepdims=True).astype(np.float32)).tol(1e-5, 1e-5).emit()
    lse = np.array([[1000, 999, -np.inf], [-np.inf, -np.inf, -np.inf]], np.float32)
    with np.errstate(all='ignore'):
        Case('lse_stable', 'ReduceLogSumExp').attr('axes', [1]).inp(lse).out(
            np.array([[1000 + np.log1p(np.exp(-1))], [-np.inf]], np.float32)).emit()
    # ArgMax / ArgMin with ties, select_last_index, several dtypes
    for dt in [np.float32, np.int32, np.uint8, np.float16]:
        a = rng.integers(0, 4, size=(3, 5, 4)).astype(dt)
        for op, f in [('ArgMax', np.argmax), ('ArgMin', np.argmin)]:
            for ax in [0, 1, -1]:
                for last in [0, 1]:
                    for keep in [0, 1]:
                        if last:
                            flip = np.flip(a, ax)
                            y = a.shape[ax] - 1 - f(flip, axis=ax)
                        else:
                            y = f(a, axis=ax)
                        if keep:
                            y = np.expand_dims(y, ax)
                        Case('%s_%s_%d_%d_%d' % (op, QC[np.dtype(dt)], ax, last, keep), op).attr('axis', ax).attr(
                            'select_last_index', last).attr('keepdims', keep).inp(a).out(y.astype(np.int64)).emit()
    # CumSum
    cs = rand((3, 4, 5), np.float64)
    for ax in [0, 1, -1]:
        for excl in [0, 1]:
            for rev in [0, 1]:
                v = np.flip(cs, ax) if rev else cs
                y = np.cumsum(v, axis=ax)
                if excl:
                    y = y - v
                if rev:
                    y = np.flip(y, ax)
                Case('cumsum_%d_%d_%d' % (ax, excl, rev), 'CumSum').attr('exclusive', excl).attr('reverse', rev).inp(
                    cs).inp(np.int32(ax)).out(y).emit()
    ci = rand((7,), np.int64)
    Case('cumsum_i64', 'CumSum').inp(ci).inp(np.int64(0)).out(np.cumsum(ci)).emit()


def suite_cast():
    vals = np.array([0, -0.0, 1.5, -2.5, 2.5, 3.75, -7.9, 100.2, 255.9, 65504, 65520, 1e-5, 6e-8,
                     3e-8, -1e30, 1e30, np.inf, -np.inf], np.float64)
    all_dt = [np.float32, np.float64, np.float16, np.int8, np.int16, np.int32, np.int64, np.uint8,
              np.uint16, np.uint32, np.uint64, np.bool_]
    onnx_id = {np.float32: 1, np.uint8: 2, np.int8: 3, np.uint16: 4, np.int16: 5, np.int32: 6,
               np.int64: 7, np.bool_: 9, np.float16: 10, np.float64: 11, np.uint32: 12, np.uint64: 13}
    small = np.array([0, 1, -1, 3.7, -3.7, 100, -100, 127.5], np.float64)
    for src in all_dt:
        for dst in all_dt:
            v = vals if (src in (np.float32, np.float64, np.float16) and dst in (np.float32, np.float64, np.float16)) else small
            with np.errstate(all='ignore'):
                x = v.astype(src)
                if dst == np.bool_:
                    y = x.astype(np.bool_)
                elif src in (np.float32, np.float64, np.float16) and np.issubdtype(dst, np.integer):
                    y = np.trunc(x.astype(np.float64)).astype(np.int64).astype(dst)
                else:
                    y = x.astype(dst)
            Case('cast_%s_%s' % (QC[np.dtype(src)], QC[np.dtype(dst)]), 'Cast').attr('to', onnx_id[dst]).inp(x).out(y).tol(0, 0).emit()
    # every f16 bit pattern (but NaNs) round trips through f32 and f64
    h = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16)
    h = h[~np.isnan(h)]
    Case('cast_f16_f32_all', 'Cast').attr('to', 1).inp(h).out(h.astype(np.float32)).tol(0, 0).emit()
    Case('cast_f32_f16_all', 'Cast').attr('to', 10).inp(h.astype(np.float32)).out(h).tol(0, 0).emit()
    # f32 -> f16 rounding (ties to even, subnormals, overflow) against numpy
    r = np.concatenate([rng.standard_normal(4000) * 10.0 ** rng.integers(-9, 6, 4000),
                        (np.arange(-2048, 2048) + 0.5) * 2.0 ** -24]).astype(np.float32)
    with np.errstate(all='ignore'):
        Case('cast_f32_f16_round', 'Cast').attr('to', 10).inp(r).out(r.astype(np.float16)).tol(0, 0).emit()
        Case('cast_f64_f16_round', 'Cast').attr('to', 10).inp(r.astype(np.float64) * 1.0000001).out(
            (r.astype(np.float64) * 1.0000001).astype(np.float16)).tol(0, 0).emit()
    # bf16: round to nearest even, both directions
    f = np.array([1.0, 1.00390625, 1.01171875, 3.1415926, -2.7182818, 1e-40, 3e38, np.inf, -np.inf], np.float32)
    bits = f.view(np.uint32).astype(np.uint64)
    rne = ((bits + 0x7fff + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    Case('cast_f32_bf16', 'Cast').attr('to', 16).inp(f).out(rne, 'bf16').tol(0, 0).emit()
    Case('cast_bf16_f32', 'Cast').attr('to', 1).inp(rne, 'bf16').out(
        (rne.astype(np.uint32) << 16).view(np.float32)).tol(0, 0).emit()
    Case('castlike', 'CastLike').inp(np.array([1.7, -1.7], np.float32)).inp(np.array([0], np.int8)).out(
        np.array([1, -1], np.int8)).emit()


def suite_tensor_errors():
    x = rand((2, 3, 4))
    E = lambda name, op: Case(name, op)
    E('reshape_bad', 'Reshape').inp(x).inp(i64([5, -1])).out(x).err(
        "node 'reshape_bad' (Reshape): cannot reshape 24 elements to [5, -1]").emit()
    E('reshape_bad2', 'Reshape').inp(x).inp(i64([5, 5])).out(x).err(
        "node 'reshape_bad2' (Reshape): cannot reshape 24 elements to [5, 5]").emit()
    E('reshape_two_infer', 'Reshape').inp(x).inp(i64([-1, -1])).out(x).err(
        "node 'reshape_two_infer' (Reshape): shape [-1, -1] has more than one -1").emit()
    E('reshape_copy_oob', 'Reshape').inp(x).inp(i64([0, 0, 0, 0])).out(x).err(
        "node 'reshape_copy_oob' (Reshape): shape [0, 0, 0, 0] copies dim 3 of a rank-3 input").emit()
    E('concat_rank', 'Concat').attr('axis', 0).inp(x).inp(rand((2, 3))).out(x).err(
        "node 'concat_rank' (Concat): input 1 has rank 2, expected 3").emit()
    E('concat_dim', 'Concat').attr('axis', 0).inp(x).inp(rand((2, 3, 5))).out(x).err(
        "node 'concat_dim' (Concat): input 1 has dim 2 of size 5, expected 4").emit()
    E('concat_axis', 'Concat').attr('axis', 3).inp(x).out(x).err(
        "node 'concat_axis' (Concat): axis 3 is out of range for rank 3").emit()
    E('gather_oob', 'Gather').attr('axis', 1).inp(x).inp(i64([0, 7])).out(x).err(
        "node 'gather_oob' (Gather): index 7 out of range for axis of size 3").emit()
    E('gather_oob_neg', 'Gather').inp(x).inp(i64([-3])).out(x).err(
        "node 'gather_oob_neg' (Gather): index -3 out of range for axis of size 2").emit()
    E('gather_elements_oob', 'GatherElements').attr('axis', 2).inp(x).inp(np.full((2, 3, 1), 4, np.int64)).out(x).err(
        "node 'gather_elements_oob' (GatherElements): index 4 out of range for axis of size 4").emit()
    E('transpose_perm', 'Transpose').attr('perm', [0, 1, 1]).inp(x).out(x).err(
        "node 'transpose_perm' (Transpose): perm is not a permutation of 0..2").emit()
    E('transpose_len', 'Transpose').attr('perm', [0, 1]).inp(x).out(x).err(
        "node 'transpose_len' (Transpose): perm has 2 entries for a rank-3 input").emit()
    E('transpose_huge', 'Transpose').attr('perm', [0, 1, 99999999999]).inp(x).out(x).err(
        "node 'transpose_huge' (Transpose): perm is not a permutation of 0..2").emit()
    E('squeeze_bad', 'Squeeze').inp(x).inp(i64([1])).out(x).err(
        "node 'squeeze_bad' (Squeeze): axis 1 has size 3, cannot squeeze").emit()
    E('unsqueeze_axis', 'Unsqueeze').inp(x).inp(i64([4])).out(x).err(
        "node 'unsqueeze_axis' (Unsqueeze): axis 4 is out of range for rank 4").emit()
    E('unsqueeze_rep', 'Unsqueeze').inp(x).inp(i64([1, -4])).out(x).err(
        "node 'unsqueeze_rep' (Unsqueeze): axis -4 is repeated").emit()
    E('slice_step0', 'Slice').inp(x).inp(i64([0])).inp(i64([1])).inp(i64([0])).inp(i64([0])).out(x).err(
        "node 'slice_step0' (Slice): step for axis 0 is 0").emit()
    E('slice_axis', 'Slice').inp(x).inp(i64([0])).inp(i64([1])).inp(i64([-4])).out(x).err(
        "node 'slice_axis' (Slice): axis -4 is out of range for rank 3").emit()
    E('split_sum', 'Split').inp(x).inp(i64([1, 2])).out(x).out(x).err(
        "node 'split_sum' (Split): split sums to 3 but axis 0 has size 2").emit()
    E('split_equal', 'Split').attr('axis', 2).inp(x).out(x).out(x).out(x).err(
        "node 'split_equal' (Split): axis 2 of size 4 does not split into 3 equal parts").emit()
    E('pad_reflect', 'Pad').attr('mode', 'reflect').inp(x).inp(i64([0, 0, 4, 0, 0, 0])).out(x).err(
        "node 'pad_reflect' (Pad): reflect pads 4, 0 need axis 2 larger than 4").emit()
    E('pad_mode', 'Pad').attr('mode', 'wrap').inp(x).inp(i64([0] * 6)).out(x).err(
        "node 'pad_mode' (Pad): mode 'wrap' is not supported").emit()
    E('pad_len', 'Pad').inp(x).inp(i64([0] * 4)).out(x).err(
        "node 'pad_len' (Pad): pads has 4 entries, expected 6").emit()
    E('expand_bad', 'Expand').inp(x).inp(i64([3, 5])).out(x).err(
        "node 'expand_bad' (Expand): shapes [2, 3, 4] and [3, 5] do not broadcast").emit()
    E('tile_neg', 'Tile').inp(x).inp(i64([1, -1, 1])).out(x).err(
        "node 'tile_neg' (Tile): repeat -1 for axis 1 is negative").emit()
    E('range_zero', 'Range').inp(np.int64(0)).inp(np.int64(5)).inp(np.int64(0)).out(i64([])).err(
        "node 'range_zero' (Range): delta is 0").emit()
    E('reduce_axis', 'ReduceMax').attr('axes', [3]).inp(x).out(x).err(
        "node 'reduce_axis' (ReduceMax): axis 3 is out of range for rank 3").emit()
    E('reduce_rep', 'ReduceSum').inp(x).inp(i64([1, -2])).out(x).err(
        "node 'reduce_rep' (ReduceSum): axis -2 is repeated").emit()
    E('argmax_axis', 'ArgMax').attr('axis', -4).inp(x).out(x).err(
        "node 'argmax_axis' (ArgMax): axis -4 is out of range for rank 3").emit()
    E('d2s_div', 'DepthToSpace').attr('blocksize', 2).inp(rand((1, 6, 2, 2))).out(x).err(
        "node 'd2s_div' (DepthToSpace): channels 6 are not divisible by blocksize^2 = 4").emit()
    E('d2s_bs', 'DepthToSpace').attr('blocksize', -2).inp(rand((1, 8, 2, 2))).out(x).err(
        "node 'd2s_bs' (DepthToSpace): blocksize -2 is invalid").emit()
    E('cast_string', 'Cast').attr('to', 8).inp(x).out(x).err(
        "node 'cast_string' (Cast): cast to ONNX type 8 (string) is not supported").emit()
    E('constant_none', 'Constant').out(x).err(
        "node 'constant_none' (Constant): needs exactly one value attribute, has 0").emit()
    E('constant_string', 'Constant').attr('value_string', 'abc').out(x).err(
        "node 'constant_string' (Constant): attribute 'value_string' is not supported").emit()
    E('flatten_axis', 'Flatten').attr('axis', 5).inp(x).out(x).err(
        "node 'flatten_axis' (Flatten): axis 5 is out of range for rank 3").emit()
    E('cumsum_axis', 'CumSum').inp(x).inp(np.int64(3)).out(x).err(
        "node 'cumsum_axis' (CumSum): axis 3 is out of range for rank 3").emit()
    E('where_cond', 'Where').inp(x).inp(x).inp(x).out(x).err(
        "node 'where_cond' (Where): condition must be bool, not f32").emit()


SUITES.update({'movement': suite_movement, 'reduce': suite_reduce, 'cast': suite_cast,
               'tensor_errors': suite_tensor_errors})


def main():
    if sys.argv[1] == 'onnx':
        onnx_cases(set(sys.argv[2].split(',')))
    else:
        for s in sys.argv[2].split(','):
            SUITES[s]()


if __name__ == '__main__':
    main()
