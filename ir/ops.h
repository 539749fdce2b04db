/* The op list: one row per op, the single source of truth for every op quantc knows.
 *
 * X(id, domain, min inputs, max inputs, min outputs, max outputs, shape inference, attributes)
 *
 * A max of -1 means variadic. The attribute schema is a space-separated list of
 * `name:kind[=default]`, kind one of f i s t g fs is ss ts gs (float, int, string, tensor, graph
 * and their lists); a trailing `!` marks a required attribute. The schema describes the op as of
 * ai.onnx opset 17: the importer rewrites older forms (attributes that became inputs, legacy
 * broadcasting, Softmax's 2-D coercion) into this one, so each op has one meaning in the IR.
 *
 * interp/ and codegen/ expand this list into their own tables keyed by QC_OP_<id>. */
#ifndef QC_OPS_H
#define QC_OPS_H

#ifndef QC_IR_H
#error "include ir.h, not ops.h"
#endif

#define QC_UNARY_OPS(X)                                                                    \
  X(Abs, "", 1, 1, 1, 1, qc_infer_same, "")                                                \
  X(Neg, "", 1, 1, 1, 1, qc_infer_same, "")                                                \
  X(Exp, "", 1, 1, 1, 1, qc_infer_same, "")                                                \
  X(Log, "", 1, 1, 1, 1, qc_infer_same, "")                                                \
  X(Sqrt, "", 1, 1, 1, 1, qc_infer_same, "")                                               \
  X(Reciprocal, "", 1, 1, 1, 1, qc_infer_same, "")                                         \
  X(Floor, "", 1, 1, 1, 1, qc_infer_same, "")                                              \
  X(Ceil, "", 1, 1, 1, 1, qc_infer_same, "")                                               \
  X(Round, "", 1, 1, 1, 1, qc_infer_same, "")                                              \
  X(Sign, "", 1, 1, 1, 1, qc_infer_same, "")                                               \
  X(Tanh, "", 1, 1, 1, 1, qc_infer_same, "")                                               \
  X(Sin, "", 1, 1, 1, 1, qc_infer_same, "")                                                \
  X(Cos, "", 1, 1, 1, 1, qc_infer_same, "")                                                \
  X(Tan, "", 1, 1, 1, 1, qc_infer_same, "")                                                \
  X(Asin, "", 1, 1, 1, 1, qc_infer_same, "")                                               \
  X(Acos, "", 1, 1, 1, 1, qc_infer_same, "")                                               \
  X(Atan, "", 1, 1, 1, 1, qc_infer_same, "")                                               \
  X(Sinh, "", 1, 1, 1, 1, qc_infer_same, "")                                               \
  X(Cosh, "", 1, 1, 1, 1, qc_infer_same, "")                                               \
  X(Asinh, "", 1, 1, 1, 1, qc_infer_same, "")                                              \
  X(Acosh, "", 1, 1, 1, 1, qc_infer_same, "")                                              \
  X(Atanh, "", 1, 1, 1, 1, qc_infer_same, "")                                              \
  X(Erf, "", 1, 1, 1, 1, qc_infer_same, "")                                                \
  X(Relu, "", 1, 1, 1, 1, qc_infer_same, "")                                               \
  X(Sigmoid, "", 1, 1, 1, 1, qc_infer_same, "")                                            \
  X(Softplus, "", 1, 1, 1, 1, qc_infer_same, "")                                           \
  X(Softsign, "", 1, 1, 1, 1, qc_infer_same, "")                                           \
  X(HardSwish, "", 1, 1, 1, 1, qc_infer_same, "")                                          \
  X(HardSigmoid, "", 1, 1, 1, 1, qc_infer_same, "alpha:f=0.2 beta:f=0.5")                  \
  X(LeakyRelu, "", 1, 1, 1, 1, qc_infer_same, "alpha:f=0.01")                              \
  X(Elu, "", 1, 1, 1, 1, qc_infer_same, "alpha:f=1")                                       \
  X(Celu, "", 1, 1, 1, 1, qc_infer_same, "alpha:f=1")                                      \
  X(Selu, "", 1, 1, 1, 1, qc_infer_same, "alpha:f=1.67326319217681884765625 gamma:f=1.05070102214813232421875") \
  X(ThresholdedRelu, "", 1, 1, 1, 1, qc_infer_same, "alpha:f=1")                           \
  X(Shrink, "", 1, 1, 1, 1, qc_infer_same, "bias:f=0 lambd:f=0.5")                         \
  X(Not, "", 1, 1, 1, 1, qc_infer_same, "")                                                \
  X(IsNaN, "", 1, 1, 1, 1, qc_infer_is_class, "")                                          \
  X(IsInf, "", 1, 1, 1, 1, qc_infer_is_class, "detect_negative:i=1 detect_positive:i=1")   \
  X(Identity, "", 1, 1, 1, 1, qc_infer_same, "")                                           \
  X(Clip, "", 1, 3, 1, 1, qc_infer_same, "")                                               \
  X(Dropout, "", 1, 3, 1, 2, qc_infer_dropout, "seed:i")                                   \
  X(CumSum, "", 2, 2, 1, 1, qc_infer_same, "exclusive:i=0 reverse:i=0")                    \
  X(Trilu, "", 1, 2, 1, 1, qc_infer_same, "upper:i=1")

#define QC_BINARY_OPS(X)                                                                   \
  X(Add, "", 2, 2, 1, 1, qc_infer_broadcast, "")                                           \
  X(Sub, "", 2, 2, 1, 1, qc_infer_broadcast, "")                                           \
  X(Mul, "", 2, 2, 1, 1, qc_infer_broadcast, "")                                           \
  X(Div, "", 2, 2, 1, 1, qc_infer_broadcast, "")                                           \
  X(Pow, "", 2, 2, 1, 1, qc_infer_broadcast, "")                                           \
  X(Mod, "", 2, 2, 1, 1, qc_infer_broadcast, "fmod:i=0")                                   \
  X(PRelu, "", 2, 2, 1, 1, qc_infer_broadcast, "")                                         \
  X(Max, "", 1, -1, 1, 1, qc_infer_broadcast, "")                                          \
  X(Min, "", 1, -1, 1, 1, qc_infer_broadcast, "")                                          \
  X(Sum, "", 1, -1, 1, 1, qc_infer_broadcast, "")                                          \
  X(Mean, "", 1, -1, 1, 1, qc_infer_broadcast, "")                                         \
  X(Equal, "", 2, 2, 1, 1, qc_infer_compare, "")                                           \
  X(Less, "", 2, 2, 1, 1, qc_infer_compare, "")                                            \
  X(LessOrEqual, "", 2, 2, 1, 1, qc_infer_compare, "")                                     \
  X(Greater, "", 2, 2, 1, 1, qc_infer_compare, "")                                         \
  X(GreaterOrEqual, "", 2, 2, 1, 1, qc_infer_compare, "")                                  \
  X(And, "", 2, 2, 1, 1, qc_infer_compare, "")                                             \
  X(Or, "", 2, 2, 1, 1, qc_infer_compare, "")                                              \
  X(Xor, "", 2, 2, 1, 1, qc_infer_compare, "")                                             \
  X(Where, "", 3, 3, 1, 1, qc_infer_where, "")

#define QC_NN_OPS(X)                                                                       \
  X(Conv, "", 2, 3, 1, 1, qc_infer_conv,                                                   \
    "auto_pad:s=NOTSET dilations:is group:i=1 kernel_shape:is pads:is strides:is")         \
  X(ConvTranspose, "", 2, 3, 1, 1, qc_infer_conv_transpose,                                \
    "auto_pad:s=NOTSET dilations:is group:i=1 kernel_shape:is output_padding:is "          \
    "output_shape:is pads:is strides:is")                                                  \
  X(BatchNormalization, "", 5, 5, 1, 3, qc_infer_batchnorm,                                \
    "epsilon:f=1e-05 momentum:f=0.9 training_mode:i=0")                                   \
  X(InstanceNormalization, "", 3, 3, 1, 1, qc_infer_same, "epsilon:f=1e-05")              \
  X(LayerNormalization, "", 2, 3, 1, 3, qc_infer_layernorm,                                \
    "axis:i=-1 epsilon:f=1e-05 stash_type:i=1")                                            \
  X(LRN, "", 1, 1, 1, 1, qc_infer_same, "alpha:f=0.0001 beta:f=0.75 bias:f=1 size:i!")    \
  X(MaxPool, "", 1, 1, 1, 2, qc_infer_pool,                                                \
    "auto_pad:s=NOTSET ceil_mode:i=0 dilations:is kernel_shape:is! pads:is "               \
    "storage_order:i=0 strides:is")                                                        \
  X(AveragePool, "", 1, 1, 1, 1, qc_infer_pool,                                            \
    "auto_pad:s=NOTSET ceil_mode:i=0 count_include_pad:i=0 kernel_shape:is! pads:is "     \
    "strides:is")                                                                          \
  X(LpPool, "", 1, 1, 1, 1, qc_infer_pool,                                                 \
    "auto_pad:s=NOTSET kernel_shape:is! p:i=2 pads:is strides:is")                         \
  X(GlobalAveragePool, "", 1, 1, 1, 1, qc_infer_global_pool, "")                           \
  X(GlobalMaxPool, "", 1, 1, 1, 1, qc_infer_global_pool, "")                               \
  X(GlobalLpPool, "", 1, 1, 1, 1, qc_infer_global_pool, "p:i=2")                           \
  X(Gemm, "", 2, 3, 1, 1, qc_infer_gemm,                                                   \
    "alpha:f=1 beta:f=1 transA:i=0 transB:i=0")                                            \
  X(MatMul, "", 2, 2, 1, 1, qc_infer_matmul, "")                                           \
  X(Softmax, "", 1, 1, 1, 1, qc_infer_same, "axis:i=-1")                                   \
  X(LogSoftmax, "", 1, 1, 1, 1, qc_infer_same, "axis:i=-1")                                \
  X(Hardmax, "", 1, 1, 1, 1, qc_infer_same, "axis:i=-1")

#define QC_QUANT_OPS(X)                                                                    \
  X(QuantizeLinear, "", 2, 3, 1, 1, qc_infer_quantize, "axis:i=1")                         \
  X(DequantizeLinear, "", 2, 3, 1, 1, qc_infer_dequantize, "axis:i=1")                     \
  X(QLinearConv, "", 8, 9, 1, 1, qc_infer_qlinear_conv,                                    \
    "auto_pad:s=NOTSET dilations:is group:i=1 kernel_shape:is pads:is strides:is")         \
  X(QLinearMatMul, "", 8, 8, 1, 1, qc_infer_qlinear_matmul, "")                            \
  X(ConvInteger, "", 2, 4, 1, 1, qc_infer_conv_integer,                                    \
    "auto_pad:s=NOTSET dilations:is group:i=1 kernel_shape:is pads:is strides:is")         \
  X(MatMulInteger, "", 2, 4, 1, 1, qc_infer_matmul_integer, "")                            \
  X(DynamicQuantizeLinear, "", 1, 1, 3, 3, qc_infer_dynamic_quantize, "")

#define QC_TENSOR_OPS(X)                                                                   \
  X(Constant, "", 0, 0, 1, 1, qc_infer_constant,                                           \
    "sparse_value:t value:t value_float:f value_floats:fs value_int:i value_ints:is "      \
    "value_string:s value_strings:ss")                                                     \
  X(ConstantOfShape, "", 1, 1, 1, 1, qc_infer_constant_of_shape, "value:t")                \
  X(Shape, "", 1, 1, 1, 1, qc_infer_shape, "end:i start:i=0")                              \
  X(Size, "", 1, 1, 1, 1, qc_infer_size, "")                                               \
  X(Cast, "", 1, 1, 1, 1, qc_infer_cast, "to:i!")                                          \
  X(CastLike, "", 2, 2, 1, 1, qc_infer_cast_like, "")                                      \
  X(Reshape, "", 2, 2, 1, 1, qc_infer_reshape, "allowzero:i=0")                            \
  X(Flatten, "", 1, 1, 1, 1, qc_infer_flatten, "axis:i=1")                                 \
  X(Transpose, "", 1, 1, 1, 1, qc_infer_transpose, "perm:is")                              \
  X(Squeeze, "", 1, 2, 1, 1, qc_infer_squeeze, "")                                         \
  X(Unsqueeze, "", 2, 2, 1, 1, qc_infer_unsqueeze, "")                                     \
  X(Concat, "", 1, -1, 1, 1, qc_infer_concat, "axis:i!")                                   \
  X(Split, "", 1, 2, 1, -1, qc_infer_split, "axis:i=0")                                    \
  X(Slice, "", 3, 5, 1, 1, qc_infer_slice, "")                                             \
  X(Gather, "", 2, 2, 1, 1, qc_infer_gather, "axis:i=0")                                   \
  X(GatherElements, "", 2, 2, 1, 1, qc_infer_gather_elements, "axis:i=0")                  \
  X(Pad, "", 2, 4, 1, 1, qc_infer_pad, "mode:s=constant")                                  \
  X(Expand, "", 2, 2, 1, 1, qc_infer_expand, "")                                           \
  X(Tile, "", 2, 2, 1, 1, qc_infer_tile, "")                                               \
  X(Range, "", 3, 3, 1, 1, qc_infer_range, "")                                             \
  X(DepthToSpace, "", 1, 1, 1, 1, qc_infer_depth_to_space, "blocksize:i! mode:s=DCR")      \
  X(SpaceToDepth, "", 1, 1, 1, 1, qc_infer_space_to_depth, "blocksize:i!")                 \
  X(ReduceMean, "", 1, 1, 1, 1, qc_infer_reduce, "axes:is keepdims:i=1")                   \
  X(ReduceMax, "", 1, 1, 1, 1, qc_infer_reduce, "axes:is keepdims:i=1")                    \
  X(ReduceMin, "", 1, 1, 1, 1, qc_infer_reduce, "axes:is keepdims:i=1")                    \
  X(ReduceProd, "", 1, 1, 1, 1, qc_infer_reduce, "axes:is keepdims:i=1")                   \
  X(ReduceL1, "", 1, 1, 1, 1, qc_infer_reduce, "axes:is keepdims:i=1")                     \
  X(ReduceL2, "", 1, 1, 1, 1, qc_infer_reduce, "axes:is keepdims:i=1")                     \
  X(ReduceLogSum, "", 1, 1, 1, 1, qc_infer_reduce, "axes:is keepdims:i=1")                 \
  X(ReduceLogSumExp, "", 1, 1, 1, 1, qc_infer_reduce, "axes:is keepdims:i=1")              \
  X(ReduceSumSquare, "", 1, 1, 1, 1, qc_infer_reduce, "axes:is keepdims:i=1")              \
  X(ReduceSum, "", 1, 2, 1, 1, qc_infer_reduce, "keepdims:i=1 noop_with_empty_axes:i=0")  \
  X(ArgMax, "", 1, 1, 1, 1, qc_infer_argreduce, "axis:i=0 keepdims:i=1 select_last_index:i=0") \
  X(ArgMin, "", 1, 1, 1, 1, qc_infer_argreduce, "axis:i=0 keepdims:i=1 select_last_index:i=0")

/* quantc's own integer-only ops (domain "quantc"), written by the uniform quantizer and run
   with exact integer semantics (docs/integer-semantics.md). Each node carries everything its
   arithmetic needs: requantization as dyadic numbers m / 2^shift (per output channel for
   QcConv/QcGemm, [m_a, m_b] / [shift_a, shift_b] for QcAdd's two inputs) and the clamp range
   [qmin, qmax], which also fixes the output dtype (u8, i8, else i16/i32). Zero points are 0. */
#define QC_INT_OPS(X)                                                                      \
  X(QcQuantize, "quantc", 1, 1, 1, 1, qc_infer_qc_quantize, "scale:f! qmin:i! qmax:i!")    \
  X(QcDequantize, "quantc", 1, 1, 1, 1, qc_infer_qc_dequantize, "scale:f!")                \
  X(QcConv, "quantc", 2, 3, 1, 1, qc_infer_qc_conv,                                        \
    "auto_pad:s=NOTSET dilations:is group:i=1 kernel_shape:is pads:is strides:is "         \
    "mult:is! shift:is! qmin:i! qmax:i!")                                                  \
  X(QcGemm, "quantc", 2, 3, 1, 1, qc_infer_qc_gemm, "mult:is! shift:is! qmin:i! qmax:i!")  \
  X(QcAdd, "quantc", 2, 2, 1, 1, qc_infer_qc_add, "mult:is! shift:is! qmin:i! qmax:i!")    \
  X(QcGlobalAveragePool, "quantc", 1, 1, 1, 1, qc_infer_qc_global_pool, "")

/* Ops added beyond the foundation's list (conformance coverage, detectors' dynamic ops). */
#define QC_MORE_OPS(X)                                                                     \
  X(Resize, "", 1, 4, 1, 1, qc_infer_resize,                                               \
    "coordinate_transformation_mode:s=half_pixel cubic_coeff_a:f=-0.75 exclude_outside:i=0 " \
    "extrapolation_value:f=0 mode:s=nearest nearest_mode:s=round_prefer_floor")             \
  X(Upsample, "", 2, 2, 1, 1, qc_infer_resize, "mode:s=nearest")                           \
  X(TopK, "", 2, 2, 2, 2, qc_infer_topk, "axis:i=-1 largest:i=1 sorted:i=1")               \
  X(OneHot, "", 3, 3, 1, 1, qc_infer_onehot, "axis:i=-1")                                  \
  X(GatherND, "", 2, 2, 1, 1, qc_infer_gather_nd, "batch_dims:i=0")                        \
  X(ScatterND, "", 3, 3, 1, 1, qc_infer_scatter, "reduction:s=none")                       \
  X(ScatterElements, "", 3, 3, 1, 1, qc_infer_scatter, "axis:i=0 reduction:s=none")        \
  X(Scatter, "", 3, 3, 1, 1, qc_infer_scatter, "axis:i=0")                                 \
  X(NegativeLogLikelihoodLoss, "", 2, 3, 1, 1, qc_infer_loss, "ignore_index:i reduction:s=mean") \
  X(SoftmaxCrossEntropyLoss, "", 2, 3, 1, 2, qc_infer_loss, "ignore_index:i reduction:s=mean") \
  X(EyeLike, "", 1, 1, 1, 1, qc_infer_eyelike, "dtype:i k:i=0")                            \
  X(Compress, "", 2, 2, 1, 1, qc_infer_compress, "axis:i")                                 \
  X(NonZero, "", 1, 1, 1, 1, qc_infer_nonzero, "")                                         \
  X(NonMaxSuppression, "", 2, 5, 1, 1, qc_infer_nms, "center_point_box:i=0")               \
  X(RoiAlign, "", 3, 3, 1, 1, qc_infer_roi_align,                                          \
    "coordinate_transformation_mode:s=half_pixel mode:s=avg output_height:i=1 "            \
    "output_width:i=1 sampling_ratio:i=0 spatial_scale:f=1")                               \
  X(MaxUnpool, "", 2, 3, 1, 1, qc_infer_max_unpool, "kernel_shape:is! pads:is strides:is") \
  X(ReverseSequence, "", 2, 2, 1, 1, qc_infer_reverse_sequence, "batch_axis:i=1 time_axis:i=0") \
  X(BitShift, "", 2, 2, 1, 1, qc_infer_broadcast, "direction:s!")                          \
  X(Det, "", 1, 1, 1, 1, qc_infer_det, "")                                                 \
  X(Einsum, "", 1, -1, 1, 1, qc_infer_einsum, "equation:s!")                               \
  X(Unique, "", 1, 1, 1, 4, qc_infer_unique, "axis:i sorted:i=1")                          \
  X(HannWindow, "", 1, 1, 1, 1, qc_infer_window, "output_datatype:i=1 periodic:i=1")       \
  X(HammingWindow, "", 1, 1, 1, 1, qc_infer_window, "output_datatype:i=1 periodic:i=1")    \
  X(BlackmanWindow, "", 1, 1, 1, 1, qc_infer_window, "output_datatype:i=1 periodic:i=1")   \
  X(MeanVarianceNormalization, "", 1, 1, 1, 1, qc_infer_same, "axes:is")                  \
  X(GridSample, "", 2, 2, 1, 1, qc_infer_grid_sample,                                      \
    "align_corners:i=0 mode:s=bilinear padding_mode:s=zeros")                               \
  X(Adagrad, "ai.onnx.preview.training", 5, -1, 2, -1, qc_infer_optimizer,                 \
    "decay_factor:f=0 epsilon:f=0 norm_coefficient:f=0")                               \
  X(Momentum, "ai.onnx.preview.training", 5, -1, 2, -1, qc_infer_optimizer,                \
    "alpha:f! beta:f! mode:s! norm_coefficient:f!")                                        \
  X(Adam, "ai.onnx.preview.training", 6, -1, 3, -1, qc_infer_optimizer,                    \
    "alpha:f=0.9 beta:f=0.999 epsilon:f=0 norm_coefficient:f=0 norm_coefficient_post:f=0")  \
  X(RNN, "", 3, 6, 0, 2, qc_infer_rnn,                                                      \
    "activation_alpha:fs activation_beta:fs activations:ss clip:f direction:s=forward " \
    "hidden_size:i layout:i=0")                                                            \
  X(GRU, "", 3, 6, 0, 2, qc_infer_rnn,                                                      \
    "activation_alpha:fs activation_beta:fs activations:ss clip:f direction:s=forward " \
    "hidden_size:i layout:i=0 linear_before_reset:i=0")                                    \
  X(LSTM, "", 3, 8, 0, 3, qc_infer_rnn,                                                     \
    "activation_alpha:fs activation_beta:fs activations:ss clip:f direction:s=forward " \
    "hidden_size:i input_forget:i=0 layout:i=0")                                            \
  X(DFT, "", 1, 2, 1, 1, qc_infer_dft, "axis:i=1 inverse:i=0 onesided:i=0")                \
  X(STFT, "", 2, 4, 1, 1, qc_infer_dft, "onesided:i=1")                                   \
  X(TfIdfVectorizer, "", 1, 1, 1, 1, qc_infer_tfidf,                                       \
    "max_gram_length:i! max_skip_count:i! min_gram_length:i! mode:s! ngram_counts:is! "    \
    "ngram_indexes:is! pool_int64s:is pool_strings:ss weights:fs")                         \
  X(MelWeightMatrix, "", 5, 5, 1, 1, qc_infer_mel, "output_datatype:i=1")

/* Training-only ops (quantization-aware training, quantizers/qat.c): fp32 in, fp32 out.
   QcFakeQuant: y = clamp(round_half_even(x / s), qmin, qmax) * s; axis < 0: per tensor with
   s = scale (activations); axis >= 0: per channel along axis with s_c = max|x_c| / qmax
   (symmetric weights, qmin = -qmax; scale unused). thresh: the EMA clipping range behind
   scale (QAT state, not read by the kernel). */
#define QC_TRAIN_OPS(X)                                                                    \
  X(QcFakeQuant, "quantc", 1, 1, 1, 1, qc_infer_same,                                      \
    "axis:i=-1 qmax:i! qmin:i! scale:f=0 thresh:f=0")

#define QC_OPS(X) \
  QC_UNARY_OPS(X) QC_BINARY_OPS(X) QC_NN_OPS(X) QC_QUANT_OPS(X) QC_TENSOR_OPS(X) \
  QC_INT_OPS(X) QC_MORE_OPS(X) QC_TRAIN_OPS(X)

typedef enum {
  QC_OP_NONE = 0, /* a deleted node, removed by qc_graph_compact */
#define QC_X(id, dom, i0, i1, o0, o1, inf, attrs) QC_OP_##id,
  QC_OPS(QC_X)
#undef QC_X
  QC_OP_COUNT
} qc_op;

typedef struct {
  const char *name;   /* ONNX op_type */
  const char *domain; /* "" is ai.onnx */
  int8_t min_in, max_in, min_out, max_out;
  const char *attrs;  /* schema, see above */
  qc_status (*infer)(const qc_node *n, const qc_tinfo *in, int n_in, qc_tinfo *out, int n_out,
                     qc_err *e);
} qc_op_info;

extern const qc_op_info qc_ops[QC_OP_COUNT];

/* QC_OP_NONE when the (domain, op_type) pair is not registered. "ai.onnx" equals "". */
qc_op qc_op_lookup(const char *domain, const char *name);
const char *qc_op_name(qc_op op);

/* One attribute of an op's schema, parsed from its string on demand. */
typedef struct {
  qc_attr_kind kind;
  bool required;
  bool has_default;
  char dflt[64]; /* the default's text */
} qc_attr_spec;

/* Looks name up in the op's schema; false when the op has no such attribute. */
bool qc_op_attr_spec(qc_op op, const char *name, qc_attr_spec *out);

#endif
