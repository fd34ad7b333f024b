// RUN: mixir-opt %s --mix-derive-backward=all | FileCheck %s

// With `all`, unmarked one-op functions get a backward too. The scan's
// backward is a scan of the cotangent over reversed time (d final_state as
// its initial state), and the forward re-run in f32 for the gate gradient.
// CHECK-LABEL: func.func @hgrn_backward(
// CHECK-SAME:    %[[X:[a-z0-9]+]]: tensor<?x?x16xf32>, %[[G:[a-z0-9]+]]: tensor<?x?x16xf32>, %[[H0:[a-z0-9]+]]: tensor<?x16xf32>, %[[DO:[a-z0-9]+]]: tensor<?x?x16xf32>, %[[DH:[a-z0-9]+]]: tensor<?x16xf32>)
// CHECK:         mix.scan %{{.*}}, %{{.*}} init(%[[DH]])
// CHECK:         mix.scan %[[X]], %[[G]] init(%[[H0]])
// CHECK:         math.exp
// CHECK:         return
func.func @hgrn(%x: tensor<?x?x16xf32>, %g: tensor<?x?x16xf32>, %h0: tensor<?x16xf32>) -> (tensor<?x?x16xf32>, tensor<?x16xf32>) {
  %o, %h = mix.scan %x, %g init(%h0) : (tensor<?x?x16xf32>, tensor<?x?x16xf32>, tensor<?x16xf32>) -> (tensor<?x?x16xf32>, tensor<?x16xf32>)
  return %o, %h : tensor<?x?x16xf32>, tensor<?x16xf32>
}
