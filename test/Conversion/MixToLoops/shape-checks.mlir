// RUN: mixir-opt %s --convert-mix-to-loops --split-input-file | FileCheck %s

// Dynamic B/T/S sizes are compared at run time: every dimension of a symbol
// is compared with the first operand dimension that carries it. On a
// mismatch the generated code calls the runtime's @mixrtShapeError with a
// constant message (a memref.global of i8, shown decoded in the comments)
// naming both operands, then runs the loops (or the scf.forall) over an empty
// batch.

// Dynamic T, static B = 2.
// The messages (globals are inserted at the top of the module, in any order):
//   "mix.linear_attention: 'k' dim 1 (T) does not match 'q' dim 1"
//   "mix.linear_attention: 'v' dim 1 (T) does not match 'q' dim 1"
// CHECK-DAG: memref.global "private" constant @[[MSG_K:mix_shape_message[_0-9]*]] : memref<60xi8> = dense<[109, 105, 120, 46, 108, 105, 110, 101, 97, 114, 95, 97, 116, 116, 101, 110, 116, 105, 111, 110, 58, 32, 39, 107, 39, 32, 100, 105, 109, 32, 49, 32, 40, 84, 41, 32, 100, 111, 101, 115, 32, 110, 111, 116, 32, 109, 97, 116, 99, 104, 32, 39, 113, 39, 32, 100, 105, 109, 32, 49]>
// CHECK-DAG: memref.global "private" constant @[[MSG_V:mix_shape_message[_0-9]*]] : memref<60xi8> = dense<[109, 105, 120, 46, 108, 105, 110, 101, 97, 114, 95, 97, 116, 116, 101, 110, 116, 105, 111, 110, 58, 32, 39, 118, 39, 32, 100, 105, 109, 32, 49, 32, 40, 84, 41, 32, 100, 111, 101, 115, 32, 110, 111, 116, 32, 109, 97, 116, 99, 104, 32, 39, 113, 39, 32, 100, 105, 109, 32, 49]>
// CHECK-DAG: func.func private @mixrtShapeError(memref<?xi8>, i64, i64) attributes {llvm.emit_c_interface}
// CHECK-LABEL: func.func @la_dynamic_T(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<2x?x2x16xf32>, %[[K:[a-z0-9]+]]: tensor<2x?x2x16xf32>, %[[V:[a-z0-9]+]]: tensor<2x?x2x8xf32>)
// B is static everywhere: it is never read or compared.
// CHECK-NOT: tensor.dim %{{.*}}, %c0
// CHECK-DAG: %[[TQ:[a-z0-9_]+]] = tensor.dim %[[Q]], %c1{{.*}} : tensor<2x?x2x16xf32>
// CHECK-DAG: %[[TK:[a-z0-9_]+]] = tensor.dim %[[K]], %c1{{.*}} : tensor<2x?x2x16xf32>
// CHECK-DAG: %[[TV:[a-z0-9_]+]] = tensor.dim %[[V]], %c1{{.*}} : tensor<2x?x2x8xf32>
// CHECK: %[[EQK:[a-z0-9_]+]] = arith.cmpi eq, %[[TK]], %[[TQ]] : index
// CHECK: %[[OK1:[a-z0-9_]+]] = arith.andi %{{.*}}, %[[EQK]] : i1
// CHECK: %[[EQV:[a-z0-9_]+]] = arith.cmpi eq, %[[TV]], %[[TQ]] : index
// CHECK: %[[OK:[a-z0-9_]+]] = arith.andi %[[OK1]], %[[EQV]] : i1
// CHECK: %[[BAD:[a-z0-9_]+]] = arith.xori %[[OK]], %{{.*}} : i1
// CHECK: scf.if %[[BAD]] {
// Each disagreeing dimension is reported with its own message, got/expected.
// CHECK: %[[NEK:[a-z0-9_]+]] = arith.cmpi ne, %[[TK]], %[[TQ]] : index
// CHECK: scf.if %[[NEK]] {
// CHECK: %[[MK:[a-z0-9_]+]] = memref.get_global @[[MSG_K]] : memref<60xi8>
// CHECK: %[[MKC:[a-z0-9_]+]] = memref.cast %[[MK]] : memref<60xi8> to memref<?xi8>
// CHECK: %[[GOT:[a-z0-9_]+]] = arith.index_cast %[[TK]] : index to i64
// CHECK: %[[EXP:[a-z0-9_]+]] = arith.index_cast %[[TQ]] : index to i64
// CHECK: func.call @mixrtShapeError(%[[MKC]], %[[GOT]], %[[EXP]]) : (memref<?xi8>, i64, i64) -> ()
// CHECK: %[[NEV:[a-z0-9_]+]] = arith.cmpi ne, %[[TV]], %[[TQ]] : index
// CHECK: scf.if %[[NEV]] {
// CHECK: memref.get_global @[[MSG_V]] : memref<60xi8>
// CHECK: func.call @mixrtShapeError
// On a mismatch the batch bound of the forall over (batch, state head) is 0.
// CHECK: %[[NB:[a-z0-9_]+]] = arith.select %[[OK]], %c2, %c0{{.*}} : index
// CHECK: %[[OE:[a-z0-9_]+]] = tensor.empty(%[[TQ]]) : tensor<2x?x2x8xf32>
// CHECK: %[[SE:[a-z0-9_]+]] = tensor.empty() : tensor<2x2x16x8xf32>
// CHECK: scf.forall (%[[B:[a-z0-9_]+]], %{{.*}}) in (%[[NB]], 2) shared_outs(%[[OS:[a-z0-9_]+]] = %[[OE]], %{{.*}} = %[[SE]]) -> (tensor<2x?x2x8xf32>, tensor<2x2x16x8xf32>)
// The rows slice and the token loop use T from q.
// CHECK: %[[ROWS:[a-z0-9_]+]] = tensor.extract_slice %[[OS]][%[[B]], 0, %{{.*}}, 0] [1, %[[TQ]], 1, 8] [1, 1, 1, 1] : tensor<2x?x2x8xf32> to tensor<?x1x8xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[TQ]] step %{{.*}} iter_args(%{{.*}} = %[[ROWS]], %{{.*}}) -> (tensor<?x1x8xf32>, tensor<16x8xf32>)
// CHECK: scf.forall.in_parallel
// CHECK: return
func.func @la_dynamic_T(%q: tensor<2x?x2x16xf32>, %k: tensor<2x?x2x16xf32>, %v: tensor<2x?x2x8xf32>)
    -> (tensor<2x?x2x8xf32>, tensor<2x2x16x8xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<2x?x2x16xf32>, tensor<2x?x2x16xf32>, tensor<2x?x2x8xf32>)
      -> (tensor<2x?x2x8xf32>, tensor<2x2x16x8xf32>)
  return %o, %s : tensor<2x?x2x8xf32>, tensor<2x2x16x8xf32>
}

// -----

// A static size in one operand and a dynamic one in another: the dynamic
// dimension is compared with the constant. A static result dimension with a
// dynamic input dimension is checked as well (the result type promises it).
//   "mix.linear_attention: 'o' dim 1 (T) does not match 'q' dim 1"
// CHECK-DAG: memref.global "private" constant @[[MSG_O:mix_shape_message[_0-9]*]] : memref<60xi8> = dense<[109, 105, 120, 46, 108, 105, 110, 101, 97, 114, 95, 97, 116, 116, 101, 110, 116, 105, 111, 110, 58, 32, 39, 111, 39, 32, 100, 105, 109, 32, 49, 32, 40, 84, 41, 32, 100, 111, 101, 115, 32, 110, 111, 116, 32, 109, 97, 116, 99, 104, 32, 39, 113, 39, 32, 100, 105, 109, 32, 49]>
// CHECK-LABEL: func.func @la_static_vs_dynamic(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<1x?x1x16xf32>, %[[K:[a-z0-9]+]]: tensor<1x8x1x16xf32>
// CHECK: %[[TQ:[a-z0-9_]+]] = tensor.dim %[[Q]], %c1
// CHECK: %[[C8:c8[_0-9]*]] = arith.constant 8 : index
// CHECK: arith.cmpi eq, %[[C8]], %[[TQ]] : index
// CHECK: arith.cmpi eq, %{{.*}}, %[[TQ]] : index
// CHECK: scf.if
// CHECK: arith.cmpi ne, %[[C8]], %[[TQ]] : index
// CHECK: func.call @mixrtShapeError
// CHECK: memref.get_global @[[MSG_O]]
// CHECK: func.call @mixrtShapeError
// CHECK: return
func.func @la_static_vs_dynamic(%q: tensor<1x?x1x16xf32>, %k: tensor<1x8x1x16xf32>, %v: tensor<1x?x1x8xf32>)
    -> (tensor<1x8x1x8xf32>, tensor<1x1x16x8xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate none
      : (tensor<1x?x1x16xf32>, tensor<1x8x1x16xf32>, tensor<1x?x1x8xf32>)
      -> (tensor<1x8x1x8xf32>, tensor<1x1x16x8xf32>)
  return %o, %s : tensor<1x8x1x8xf32>, tensor<1x1x16x8xf32>
}

// -----

// Delta rule: beta is checked like every other operand.
//   "mix.delta_rule: 'beta' dim 1 (T) does not match 'q' dim 1"
// CHECK-DAG: memref.global "private" constant @[[MSG_BETA:mix_shape_message[_0-9]*]] : memref<57xi8> = dense<[109, 105, 120, 46, 100, 101, 108, 116, 97, 95, 114, 117, 108, 101, 58, 32, 39, 98, 101, 116, 97, 39, 32, 100, 105, 109, 32, 49, 32, 40, 84, 41, 32, 100, 111, 101, 115, 32, 110, 111, 116, 32, 109, 97, 116, 99, 104, 32, 39, 113, 39, 32, 100, 105, 109, 32, 49]>
// CHECK-LABEL: func.func @dr_dynamic(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<1x?x1x8xf32>, {{.*}}, %[[BETA:[a-z0-9]+]]: tensor<1x?x1xf32>)
// CHECK-DAG: %[[TQ:[a-z0-9_]+]] = tensor.dim %[[Q]], %c1
// CHECK-DAG: %[[TB:[a-z0-9_]+]] = tensor.dim %[[BETA]], %c1
// CHECK: arith.cmpi eq, %[[TB]], %[[TQ]]
// CHECK: arith.cmpi ne, %[[TB]], %[[TQ]]
// CHECK-NEXT: scf.if
// CHECK-NEXT: memref.get_global @[[MSG_BETA]]
// The forall over (batch, state head) falls back to an empty batch.
// CHECK: %[[NB:[a-z0-9_]+]] = arith.select %{{.*}}, %c1, %c0{{.*}} : index
// CHECK: scf.forall (%{{.*}}, %{{.*}}) in (%[[NB]], 1) shared_outs({{.*}}) -> (tensor<1x?x1x8xf32>, tensor<1x1x8x8xf32>)
// CHECK: return
func.func @dr_dynamic(%q: tensor<1x?x1x8xf32>, %k: tensor<1x?x1x8xf32>, %v: tensor<1x?x1x8xf32>, %beta: tensor<1x?x1xf32>)
    -> (tensor<1x?x1x8xf32>, tensor<1x1x8x8xf32>) {
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate none
      : (tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1x8xf32>, tensor<1x?x1xf32>)
      -> (tensor<1x?x1x8xf32>, tensor<1x1x8x8xf32>)
  return %o, %s : tensor<1x?x1x8xf32>, tensor<1x1x8x8xf32>
}

// -----

// Attention without a forget gate: the key length S is its own symbol, so k
// and v are compared with each other, never with the query length T.
//   "mix.attention: 'v' dim 1 (S) does not match 'k' dim 1"
// CHECK-DAG: memref.global "private" constant @[[MSG_S:mix_shape_message[_0-9]*]] : memref<53xi8> = dense<[109, 105, 120, 46, 97, 116, 116, 101, 110, 116, 105, 111, 110, 58, 32, 39, 118, 39, 32, 100, 105, 109, 32, 49, 32, 40, 83, 41, 32, 100, 111, 101, 115, 32, 110, 111, 116, 32, 109, 97, 116, 99, 104, 32, 39, 107, 39, 32, 100, 105, 109, 32, 49]>
// CHECK-LABEL: func.func @attn_dynamic_S(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<1x?x2x16xf32>, %[[K:[a-z0-9]+]]: tensor<1x?x2x16xf32>, %[[V:[a-z0-9]+]]: tensor<1x?x2x8xf32>)
// CHECK-DAG: %[[TQ:[a-z0-9_]+]] = tensor.dim %[[Q]], %c1
// CHECK-DAG: %[[SK:[a-z0-9_]+]] = tensor.dim %[[K]], %c1
// CHECK-DAG: %[[SV:[a-z0-9_]+]] = tensor.dim %[[V]], %c1
// CHECK-NOT: arith.cmpi eq, %[[SK]], %[[TQ]]
// CHECK: arith.cmpi eq, %[[SV]], %[[SK]]
// CHECK-NOT: arith.cmpi eq
// CHECK: memref.get_global @[[MSG_S]]
// The key loop runs to S (from k), the query loop to T (from q).
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[TQ]] step
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[SK]] step
// CHECK: return
func.func @attn_dynamic_S(%q: tensor<1x?x2x16xf32>, %k: tensor<1x?x2x16xf32>, %v: tensor<1x?x2x8xf32>)
    -> tensor<1x?x2x8xf32> {
  %o = mix.attention %q, %k, %v
      : (tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x8xf32>) -> tensor<1x?x2x8xf32>
  return %o : tensor<1x?x2x8xf32>
}

// -----

// With a forget gate the key length must equal the query length.
//   "mix.attention: 'k' dim 1 (T) does not match 'q' dim 1"
// CHECK-DAG: memref.global "private" constant @[[MSG_KT:mix_shape_message[_0-9]*]] : memref<53xi8> = dense<[109, 105, 120, 46, 97, 116, 116, 101, 110, 116, 105, 111, 110, 58, 32, 39, 107, 39, 32, 100, 105, 109, 32, 49, 32, 40, 84, 41, 32, 100, 111, 101, 115, 32, 110, 111, 116, 32, 109, 97, 116, 99, 104, 32, 39, 113, 39, 32, 100, 105, 109, 32, 49]>
// CHECK-LABEL: func.func @attn_forget_dynamic(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<1x?x2x16xf32>, %[[K:[a-z0-9]+]]: tensor<1x?x2x16xf32>
// CHECK-DAG: %[[TQ:[a-z0-9_]+]] = tensor.dim %[[Q]], %c1
// CHECK-DAG: %[[TK:[a-z0-9_]+]] = tensor.dim %[[K]], %c1
// CHECK: arith.cmpi eq, %[[TK]], %[[TQ]]
// CHECK: arith.cmpi ne, %[[TK]], %[[TQ]]
// CHECK-NEXT: scf.if
// CHECK-NEXT: memref.get_global @[[MSG_KT]]
// CHECK: return
func.func @attn_forget_dynamic(%q: tensor<1x?x2x16xf32>, %k: tensor<1x?x2x16xf32>, %v: tensor<1x?x2x8xf32>, %g: tensor<1x?x2xf32>)
    -> tensor<1x?x2x8xf32> {
  %o = mix.attention %q, %k, %v forget(%g) causal
      : (tensor<1x?x2x16xf32>, tensor<1x?x2x16xf32>, tensor<1x?x2x8xf32>, tensor<1x?x2xf32>) -> tensor<1x?x2x8xf32>
  return %o : tensor<1x?x2x8xf32>
}

// -----

// Scan: B of the initial state is checked against x.
//   "mix.scan: 'initial_state' dim 0 (B) does not match 'x' dim 0"
// CHECK-DAG: memref.global "private" constant @[[MSG_H0:mix_shape_message[_0-9]*]] : memref<60xi8> = dense<[109, 105, 120, 46, 115, 99, 97, 110, 58, 32, 39, 105, 110, 105, 116, 105, 97, 108, 95, 115, 116, 97, 116, 101, 39, 32, 100, 105, 109, 32, 48, 32, 40, 66, 41, 32, 100, 111, 101, 115, 32, 110, 111, 116, 32, 109, 97, 116, 99, 104, 32, 39, 120, 39, 32, 100, 105, 109, 32, 48]>
// CHECK-LABEL: func.func @scan_dynamic(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<?x?x64xf32>, %[[G:[a-z0-9]+]]: tensor<?x?x64xf32>, %[[H0:[a-z0-9]+]]: tensor<?x64xf32>)
// CHECK-DAG: %[[BX:[a-z0-9_]+]] = tensor.dim %[[X]], %c0
// CHECK-DAG: %[[BH:[a-z0-9_]+]] = tensor.dim %[[H0]], %c0
// CHECK: arith.cmpi eq, %[[BH]], %[[BX]]
// CHECK: arith.cmpi ne, %[[BH]], %[[BX]]
// CHECK-NEXT: scf.if
// CHECK-NEXT: memref.get_global @[[MSG_H0]]
// CHECK: %[[NB:[a-z0-9_]+]] = arith.select %{{.*}}, %[[BX]], %c0
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[NB]] step
// CHECK: return
func.func @scan_dynamic(%x: tensor<?x?x64xf32>, %g: tensor<?x?x64xf32>, %h0: tensor<?x64xf32>)
    -> (tensor<?x?x64xf32>, tensor<?x64xf32>) {
  %o, %h = mix.scan %x, %g init(%h0)
      : (tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x64xf32>)
  return %o, %h : tensor<?x?x64xf32>, tensor<?x64xf32>
}

// -----

// All operand dims static, only the results dynamic: nothing to compare, so
// no check, no message and no declaration of @mixrtShapeError.
// CHECK-NOT: mixrtShapeError
// CHECK-NOT: memref.global
// CHECK-LABEL: func.func @no_check_static_inputs(
// CHECK-NOT: tensor.dim
// CHECK-NOT: arith.cmpi
// CHECK-NOT: scf.if
// CHECK-NOT: mixrtShapeError
// CHECK: return
func.func @no_check_static_inputs(%x: tensor<2x16x64xf32>, %g: tensor<2x16x64xf32>)
    -> (tensor<?x?x64xf32>, tensor<?x64xf32>) {
  %o, %h = mix.scan %x, %g : (tensor<2x16x64xf32>, tensor<2x16x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x64xf32>)
  return %o, %h : tensor<?x?x64xf32>, tensor<?x64xf32>
}

// -----

// Fully static: no check either.
// CHECK-NOT: mixrtShapeError
// CHECK-NOT: memref.global
// CHECK-LABEL: func.func @no_check_static(
// CHECK-NOT: tensor.dim
// CHECK-NOT: scf.if
// CHECK-NOT: mixrtShapeError
// CHECK: return
func.func @no_check_static(%q: tensor<2x8x2x16xf32>, %k: tensor<2x8x2x16xf32>, %v: tensor<2x8x2x32xf32>,
                           %beta: tensor<2x8x2xf32>, %g: tensor<2x8x2x16xf32>, %s0: tensor<2x2x16x32xf32>)
    -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>) {
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate vector(%g) init(%s0)
      : (tensor<2x8x2x16xf32>, tensor<2x8x2x16xf32>, tensor<2x8x2x32xf32>, tensor<2x8x2xf32>, tensor<2x8x2x16xf32>, tensor<2x2x16x32xf32>)
      -> (tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>)
  return %o, %s : tensor<2x8x2x32xf32>, tensor<2x2x16x32xf32>
}
