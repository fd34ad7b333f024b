// RUN: mixir-opt %s --convert-mix-to-loops | FileCheck %s

// Block attention in the reference lowering: query row i reads only the keys
// of its block of 24 positions, [i / 24 * 24, i / 24 * 24 + 24), intersected
// with the causal range [0, i + 1); keys are checked against q's length T
// (block needs S = T).
// CHECK-LABEL: func.func @block_causal(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<?x?x4x16xf32>, %[[K:[a-z0-9]+]]: tensor<?x?x2x16xf32>
// CHECK: %[[T:[a-z0-9_]+]] = tensor.dim %[[Q]], %c1
// CHECK: %[[S:[a-z0-9_]+]] = tensor.dim %[[K]], %c1
// CHECK: arith.cmpi ne, %[[S]], %[[T]]
// CHECK: func.call @mixrtShapeError
// CHECK: scf.for %[[I:[a-z0-9_]+]] = %{{.*}} to %[[T]] step
// CHECK: %[[I1:[a-z0-9_]+]] = arith.addi %[[I]], %{{.*}} : index
// CHECK: %[[HI:[a-z0-9_]+]] = arith.minsi %[[T]], %[[I1]] : index
// CHECK: %[[N:[a-z0-9_]+]] = arith.constant 24 : index
// CHECK: %[[BI:[a-z0-9_]+]] = arith.divui %[[I]], %[[N]] : index
// CHECK: %[[START:[a-z0-9_]+]] = arith.muli %[[BI]], %[[N]] : index
// CHECK: %[[END:[a-z0-9_]+]] = arith.addi %[[START]], %[[N]] : index
// CHECK: %[[LO:[a-z0-9_]+]] = arith.maxsi %{{.*}}, %[[START]] : index
// CHECK: %[[HI2:[a-z0-9_]+]] = arith.minsi %[[HI]], %[[END]] : index
// CHECK: scf.for %{{.*}} = %[[LO]] to %[[HI2]] step
func.func @block_causal(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x8xf32>) -> tensor<?x?x4x8xf32> {
  %o = mix.attention %q, %k, %v causal block = 24
      : (tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x8xf32>) -> tensor<?x?x4x8xf32>
  return %o : tensor<?x?x4x8xf32>
}
