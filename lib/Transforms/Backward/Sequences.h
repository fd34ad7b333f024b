//===- Sequences.h - where sequences start and end --------------*- C++ -*-===//
//
// Internal to lib/Transforms/Backward. Reversing a recurrence needs to know
// where each sequence starts and ends along the time axis (dim 1): the
// reverse recurrence starts at a sequence's last token from d final_state,
// its gate is the next token's (none after the last), the shifted forward
// starts from the initial state at a sequence's first token, and a reverse
// cumulative sum stops at a sequence's first token. A `Sequences` answers
// those questions for both layouts of MIXERS.md:
//
//   - one sequence per batch row (tokens 0 to T of row b, state row b);
//   - packed sequences (`cu_seqlens`, a batch of one): sequence n is tokens
//     cu[n] to cu[n + 1] of row 0, state row n.
//
// The helpers below are written once against it, so the backward of
// unpacked rows is the packing "row b is sequence b" of the same code. Time
// reversal reverses the whole axis in both: reversed, the packing is
// cu' = T - reverse(cu), which the mix ops over reversed time get as theirs.
//
// The offsets are read clamped into [0, T] (and the sequence index into
// range), so a broken packing, which the mix ops of the backward report as a
// run-time error, never makes these helpers read out of bounds.
//
//===----------------------------------------------------------------------===//
#ifndef MIXIR_LIB_TRANSFORMS_BACKWARD_SEQUENCES_H
#define MIXIR_LIB_TRANSFORMS_BACKWARD_SEQUENCES_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/Value.h"

namespace mixir::grad {

using mlir::Location;
using mlir::OpBuilder;
using mlir::Value;

class Sequences {
public:
  /// The sequences of an op over tokens `tokens` ([B, T, ...]) with offsets
  /// `cuSeqlens` (null: one sequence per batch row).
  Sequences(OpBuilder &b, Location loc, Value cuSeqlens, Value tokens);

  bool packed() const { return static_cast<bool>(cu); }
  /// The `cu_seqlens` operand of a mix op over forward / reversed time (null
  /// when not packed).
  Value forward() const { return cu; }
  Value reversed() const { return cuReversed; }
  /// Per-sequence rows [N, ...] in the order of the reversed packing and
  /// back (the reversed packing's sequence n is sequence N - 1 - n; rows
  /// stay in place when each batch row is a sequence). Null stays null.
  Value reversedRows(OpBuilder &b, Location loc, Value x) const;
  /// The number of state rows (N packed, else B), static or kDynamic.
  int64_t staticCount() const;
  /// The number of sequences (a size).
  mlir::OpFoldResult count(OpBuilder &b, Location loc) const;

  /// Where a sequence lies: its state row `seq`, its batch row `row`, its
  /// first token `start` and its end `end` (exclusive), index values.
  struct Span {
    Value seq, row, start, end;
  };
  /// The sequence of the token at (`row`, `t`); built inside a loop body.
  Span ofToken(OpBuilder &b, Location loc, Value row, Value t) const;
  /// Sequence `n` (a state row).
  Span ofSequence(OpBuilder &b, Location loc, Value n) const;

private:
  Value offsetAt(OpBuilder &b, Location loc, Value i) const;

  Value cu;         // the offsets as given (null: rows)
  Value cuReversed; // T - reverse(cu)
  Value offsets;    // i64 [len(cu) + 1]: cu clamped into [0, T], then T
  Value seqOf;      // i64 [T]: the sequence of each token
  Value length;     // T
  Value rows;       // B
  int64_t staticRows = 0;
};

/// The gate of the reversed recurrence: read backwards, the gate of the next
/// token of the same sequence, 0 at each sequence's last token. Running
/// `S = exp(g'_t) S + ...` over reversed inputs applies the decay of step
/// u + 1 between steps u + 1 and u, as the state gradient needs.
Value reverseShiftedGate(OpBuilder &b, Location loc, Value g,
                         const Sequences &seqs);
/// `x[:, t-1]`, with `first[n]` (x's shape with the sequences in place of
/// the time axis) at the first token of sequence n.
Value shiftForward(OpBuilder &b, Location loc, Value x, Value first,
                   const Sequences &seqs);
/// `x[:, t-1]` with zeros at the first token of each sequence.
Value shiftForwardZero(OpBuilder &b, Location loc, Value x,
                       const Sequences &seqs);
/// `x` at the first token of each sequence ([N, ...]: x's shape with the
/// sequences in place of dims 0 and 1), zeros for an empty sequence.
Value firstStep(OpBuilder &b, Location loc, Value x, const Sequences &seqs);
/// exp of the log gate at each sequence's first token (1 when empty): the
/// decay applied to its initial state.
Value firstStepDecay(OpBuilder &b, Location loc, Value logGate,
                     const Sequences &seqs);
/// `x` plus `term[n]` at the last token of each sequence n.
Value addAtLastStep(OpBuilder &b, Location loc, Value x, Value term,
                    const Sequences &seqs);
/// `sum_{u >= t} x[:, u]` over the tokens u of t's sequence (f32), computed
/// by a mix.scan with a zero gate over reversed time.
Value reverseCumsumTime(OpBuilder &b, Location loc, Value x,
                        const Sequences &seqs);
/// The gradient of a head gate (one log decay per head for every step) from
/// the per-step terms dG [B, T, H]: sum over tokens of ((p + 1) dG - minus),
/// p the token's position in its sequence, with `minus` (same shape)
/// optional. Its terms are large and mostly cancel, so the sum is
/// accumulated in f64; the result is f32 [H].
Value headGateGrad(OpBuilder &b, Location loc, Value dG, const Sequences &seqs,
                   Value minus = {});

} // namespace mixir::grad

#endif
