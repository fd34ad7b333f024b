// A head-wise LSTM layer in the style of FlashRNN / xLSTM's sLSTM blocks: the
// hidden state is split into H heads of D channels, and each head has its own
// recurrent weights (a block-diagonal R), so the heads run independently.
//
//   a_g = wx[t, g] + R_g h + b_g            gates i, f, z, o (g = 0..3)
//   c   = sigmoid(a_f) c + sigmoid(a_i) tanh(a_z)
//   h   = sigmoid(a_o) tanh(c)
//
// wx is the output of the layer's input projection (x W_ih^T + b_ih, left out
// here, as it is one matmul over all tokens); the recurrence is mix.rnn.
//
// Shapes (B batch and T tokens are dynamic; H = 4 heads of D = 64):
//   %wx     : [B, T, H, 4, D] bf16   gate pre-activations from the input
//   %r      : [H, 4, D, D]    bf16   recurrent weights, r[h, g] is [D_out, D_in]
//   %b      : [H, 4, D]       bf16   recurrent bias
//   %h0, %c0: [B, H, D]       f32    initial hidden and cell states
// Results:
//   h       : [B, T, H, D]    bf16
//   h_T, c_T: [B, H, D]       f32    states after the last token
func.func @lstm_heads(%wx: tensor<?x?x4x4x64xbf16>, %r: tensor<4x4x64x64xbf16>,
                      %b: tensor<4x4x64xbf16>, %h0: tensor<?x4x64xf32>,
                      %c0: tensor<?x4x64xf32>)
    -> (tensor<?x?x4x64xbf16>, tensor<?x4x64xf32>, tensor<?x4x64xf32>) {
  %h, %hT, %cT = mix.rnn lstm %wx, %r bias(%b) init(%h0, %c0)
      : (tensor<?x?x4x4x64xbf16>, tensor<4x4x64x64xbf16>, tensor<4x4x64xbf16>,
         tensor<?x4x64xf32>, tensor<?x4x64xf32>)
      -> (tensor<?x?x4x64xbf16>, tensor<?x4x64xf32>, tensor<?x4x64xf32>)
  return %h, %hT, %cT
      : tensor<?x?x4x64xbf16>, tensor<?x4x64xf32>, tensor<?x4x64xf32>
}
