// mixir-stablehlo-flat v1
"builtin.module"() ({
  "func.func"() <{function_type = (tensor<1x4x2xf32>, tensor<2x1x2xf32>) -> tensor<1x4x2xf32>, sym_name = "main"}> ({
  ^bb0(%x: tensor<1x4x2xf32>, %w: tensor<2x1x2xf32>):
    %0 = "stablehlo.convolution"(%x, %w) <{batch_group_count = 1 : i64, dimension_numbers = {input_batch_dimension = 0 : i64, input_feature_dimension = 2 : i64, input_spatial_dimensions = array<i64: 1>, kernel_input_feature_dimension = 1 : i64, kernel_output_feature_dimension = 2 : i64, kernel_spatial_dimensions = array<i64: 0>, output_batch_dimension = 0 : i64, output_feature_dimension = 2 : i64, output_spatial_dimensions = array<i64: 1>}, feature_group_count = 0 : i64, padding = dense<[[1, 0]]> : tensor<1x2xi64>}> : (tensor<1x4x2xf32>, tensor<2x1x2xf32>) -> tensor<1x4x2xf32>
    "func.return"(%0) : (tensor<1x4x2xf32>) -> ()
  }) : () -> ()
}) : () -> ()
