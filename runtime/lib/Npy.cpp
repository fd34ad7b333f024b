//===- Npy.cpp - NumPy .npy reading and writing ---------------------------===//
//
// Format reference: numpy/lib/format.py. A file is the magic "\x93NUMPY", a
// major and minor version byte, the header length (2 bytes little-endian for
// 1.0, 4 bytes for 2.0 and 3.0), a header that is a Python dict literal such
// as {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
// spaces and ended by '\n', and then the raw data.
//
//===----------------------------------------------------------------------===//

#include "mixrt/Npy.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string_view>

namespace mixrt {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr size_t kAlign = 64;
// numpy leaves room for the first dimension to grow to this many digits.
constexpr size_t kGrowthAxisMaxDigits = 21;

struct DescrEntry {
  const char *code; // descr without its byte-order character
  DType dtype;
};

// The first entry for each dtype is the one written.
constexpr DescrEntry kDescrs[] = {
    {"f4", DType::f32},     {"f2", DType::f16}, {"f8", DType::f64},
    {"V2", DType::bf16},    {"i1", DType::i8},  {"i2", DType::i16},
    {"i4", DType::i32},     {"i8", DType::i64}, {"u1", DType::u8},
    {"u2", DType::u16},     {"u4", DType::u32}, {"u8", DType::u64},
    {"b1", DType::boolean},
};

/// Quotes text taken from a file for a one-line message: non-printable bytes
/// are escaped and long text is cut short.
std::string quote(std::string_view text, char delim = '\'',
                  size_t maxLen = 40) {
  std::string s(1, delim);
  for (size_t i = 0; i < text.size() && i < maxLen; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      s += char(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      s += buf;
    }
  }
  if (text.size() > maxLen)
    s += "...";
  return s + delim;
}

std::string shapeRepr(const std::vector<int64_t> &shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

/// Computes product(shape) * elemSize, failing on negative dimensions and
/// on overflow of int64_t.
Status byteSize(const std::vector<int64_t> &shape, size_t elemSize,
                uint64_t &bytes) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t n = int64_t(elemSize);
  for (int64_t d : shape)
    if (d < 0)
      return Status::error("negative dimension " + std::to_string(d) +
                           " in shape " + shapeRepr(shape));
  for (int64_t d : shape) {
    if (d == 0)
      return bytes = 0, Status::ok();
    if (n > kMax / d)
      return Status::error("shape " + shapeRepr(shape) +
                           " is too large: its size overflows 64 bits");
    n *= d;
  }
  bytes = uint64_t(n);
  return Status::ok();
}

/// A cursor over the header dict text.
class HeaderParser {
public:
  explicit HeaderParser(std::string_view text) : text_(text) {}

  Status parse(std::string &descr, bool &fortranOrder,
               std::vector<int64_t> &shape) {
    bool seenDescr = false, seenOrder = false, seenShape = false;
    skipSpace();
    if (!eat('{'))
      return error("expected '{' at the start of the header dict");
    while (true) {
      skipSpace();
      if (eat('}'))
        break;
      std::string key;
      if (Status s = parseString(key, "a quoted key"); !s)
        return s;
      skipSpace();
      if (!eat(':'))
        return error("expected ':' after key " + quote(key));
      skipSpace();
      Status s;
      bool *seen;
      if (key == "descr") {
        seen = &seenDescr;
        if (peek() != '\'' && peek() != '"')
          return error("'descr' must be a string; structured dtypes are not "
                       "supported");
        s = parseString(descr, "a quoted descr");
      } else if (key == "fortran_order") {
        seen = &seenOrder;
        s = parseBool(fortranOrder);
      } else if (key == "shape") {
        seen = &seenShape;
        s = parseShape(shape);
      } else {
        return error("unexpected key " + quote(key) + " in header dict");
      }
      if (!s)
        return s;
      if (*seen)
        return error("duplicate key " + quote(key) + " in header dict");
      *seen = true;
      skipSpace();
      if (eat(','))
        continue;
      if (eat('}'))
        break;
      return error("expected ',' or '}' after the value of " + quote(key));
    }
    skipSpace();
    if (pos_ != text_.size())
      return error("unexpected text after the header dict");
    for (auto [seenKey, name] : {std::pair{seenDescr, "descr"},
                                 {seenOrder, "fortran_order"},
                                 {seenShape, "shape"}})
      if (!seenKey)
        return Status::error(std::string("malformed header: missing key '") +
                             name + "'");
    return Status::ok();
  }

private:
  static bool isSpace(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool eat(char c) {
    if (pos_ >= text_.size() || text_[pos_] != c)
      return false;
    ++pos_;
    return true;
  }
  bool eatWord(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word)
      return false;
    pos_ += word.size();
    return true;
  }
  void skipSpace() {
    while (pos_ < text_.size() && isSpace(text_[pos_]))
      ++pos_;
  }
  Status error(const std::string &what) const {
    std::string_view shown = text_;
    while (!shown.empty() && isSpace(shown.back()))
      shown.remove_suffix(1);
    return Status::error("malformed header: " + what + " at offset " +
                         std::to_string(pos_) + " of " +
                         quote(shown, '"', 100));
  }

  Status parseString(std::string &out, const char *what) {
    char q = peek();
    if (q != '\'' && q != '"')
      return error(std::string("expected ") + what);
    size_t end = text_.find(q, pos_ + 1);
    if (end == std::string_view::npos)
      return error("unterminated string");
    out = std::string(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return Status::ok();
  }

  Status parseBool(bool &out) {
    if (eatWord("True"))
      return out = true, Status::ok();
    if (eatWord("False"))
      return out = false, Status::ok();
    return error("'fortran_order' must be True or False");
  }

  // Accepts (), (5,), (2, 3), (5) and Python 2's (2L, 3L).
  Status parseShape(std::vector<int64_t> &shape) {
    shape.clear();
    if (!eat('('))
      return error("'shape' must be a tuple");
    while (true) {
      skipSpace();
      if (eat(')'))
        return Status::ok();
      bool negative = eat('-');
      if (!std::isdigit(static_cast<unsigned char>(peek())))
        return error("expected an integer dimension in 'shape'");
      int64_t d = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        int digit = text_[pos_++] - '0';
        if (d > (std::numeric_limits<int64_t>::max() - digit) / 10)
          return Status::error("dimension in 'shape' is too large: it "
                               "overflows 64 bits");
        d = d * 10 + digit;
      }
      if (negative)
        return Status::error("negative dimension -" + std::to_string(d) +
                             " in 'shape'");
      eat('L');
      shape.push_back(d);
      skipSpace();
      if (eat(')'))
        return Status::ok();
      if (!eat(','))
        return error("expected ',' or ')' in 'shape'");
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

Status parseDescr(const std::string &descr, DType &dtype) {
  std::string_view code = descr;
  char order = code.empty() ? '\0' : code[0];
  if (order == '<' || order == '>' || order == '|' || order == '=')
    code.remove_prefix(1);
  for (const DescrEntry &e : kDescrs) {
    if (code != e.code)
      continue;
    if (order == '>' && dtypeSize(e.dtype) > 1)
      return Status::error("big-endian descr " + quote(descr) +
                           " is not supported; save a little-endian array "
                           "(arr.astype(arr.dtype.newbyteorder('<')))");
    dtype = e.dtype;
    return Status::ok();
  }
  return Status::error("unsupported descr " + quote(descr) +
                       "; supported: f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1 and "
                       "V2 (bfloat16)");
}

/// Parses everything up to the data; sets `dataOffset` to where it starts.
Status parseHeader(const uint8_t *data, size_t size, HostArray &out,
                   size_t &dataOffset) {
  if (size < kMagicLen)
    return Status::error("not a .npy file: it is only " + std::to_string(size) +
                         " bytes long");
  if (std::memcmp(data, kMagic, kMagicLen) != 0)
    return Status::error("not a .npy file: bad magic bytes (expected "
                         "\\x93NUMPY)");
  if (size < kMagicLen + 2)
    return Status::error("truncated header: file ends inside the version");
  unsigned major = data[6], minor = data[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    return Status::error("unsupported .npy format version " +
                         std::to_string(major) + "." + std::to_string(minor) +
                         " (supported: 1.0, 2.0, 3.0)");
  size_t lenBytes = major == 1 ? 2 : 4;
  size_t preamble = kMagicLen + 2 + lenBytes;
  if (size < preamble)
    return Status::error("truncated header: file ends inside the header "
                         "length");
  uint64_t headerLen = 0;
  for (size_t i = 0; i < lenBytes; ++i)
    headerLen |= uint64_t(data[8 + i]) << (8 * i);
  if (headerLen > size - preamble)
    return Status::error("truncated header: header length " +
                         std::to_string(headerLen) + " exceeds the " +
                         std::to_string(size - preamble) +
                         " bytes left in the file");

  std::string descr;
  bool fortranOrder = false;
  std::string_view text(reinterpret_cast<const char *>(data) + preamble,
                        headerLen);
  if (Status s = HeaderParser(text).parse(descr, fortranOrder, out.shape); !s)
    return s;
  if (Status s = parseDescr(descr, out.dtype); !s)
    return s;
  if (fortranOrder)
    return Status::error("fortran_order arrays are not supported; save with "
                         "np.ascontiguousarray");

  uint64_t expected = 0;
  if (Status s = byteSize(out.shape, dtypeSize(out.dtype), expected); !s)
    return s;
  dataOffset = preamble + headerLen;
  uint64_t got = size - dataOffset;
  if (got != expected)
    return Status::error(std::string(got < expected ? "truncated data"
                                                    : "unexpected trailing "
                                                      "data") +
                         ": expected " + std::to_string(expected) +
                         " bytes of data for " + quote(descr) + " shape " +
                         shapeRepr(out.shape) + ", got " + std::to_string(got));
  return Status::ok();
}

std::string withPath(const std::string &path, const Status &s) {
  return path + ": " + s.message();
}

} // namespace

Status parseNpy(const uint8_t *data, size_t size, HostArray &out) {
  size_t offset = 0;
  if (Status s = parseHeader(data, size, out, offset); !s)
    return s;
  out.bytes.assign(data + offset, data + size);
  return Status::ok();
}

Status readNpy(const std::string &path, HostArray &out) {
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    return Status::error(path + ": cannot open: " + std::strerror(errno));
  std::vector<uint8_t> data;
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    data.insert(data.end(), buf, buf + n);
  int err = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (err)
    return Status::error(path + ": cannot read: " + std::strerror(err));

  // Reuse the file buffer for the array data instead of copying it.
  size_t offset = 0;
  if (Status s = parseHeader(data.data(), data.size(), out, offset); !s)
    return Status::error(withPath(path, s));
  data.erase(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(offset));
  out.bytes = std::move(data);
  return Status::ok();
}

std::vector<uint8_t> serializeNpy(const HostArray &array) {
  uint64_t expected = 0;
  if (!byteSize(array.shape, dtypeSize(array.dtype), expected) ||
      expected != array.bytes.size())
    return {};

  const char *code = nullptr;
  for (const DescrEntry &e : kDescrs)
    if (e.dtype == array.dtype && !code)
      code = e.code;
  if (!code)
    return {};
  std::string header =
      std::string("{'descr': '") + (dtypeSize(array.dtype) == 1 ? '|' : '<') +
      code + "', 'fortran_order': False, 'shape': " + shapeRepr(array.shape) +
      ", }";
  if (!array.shape.empty()) {
    size_t digits = std::to_string(array.shape[0]).size();
    if (digits < kGrowthAxisMaxDigits)
      header.append(kGrowthAxisMaxDigits - digits, ' ');
  }

  // Pad with spaces so that the data starts at a multiple of kAlign; the
  // header ends with '\n'. Use format 2.0 only when 1.0's 2-byte header
  // length cannot hold it.
  auto padded = [&](size_t preamble) {
    size_t used = preamble + header.size() + 1;
    return header.size() + 1 + (kAlign - used % kAlign) % kAlign;
  };
  size_t lenBytes = padded(kMagicLen + 2 + 2) <= 65535 ? 2 : 4;
  size_t headerLen = padded(kMagicLen + 2 + lenBytes);
  header.resize(headerLen - 1, ' ');
  header += '\n';

  std::vector<uint8_t> out(kMagic, kMagic + kMagicLen);
  out.push_back(lenBytes == 2 ? 1 : 2);
  out.push_back(0);
  for (size_t i = 0; i < lenBytes; ++i)
    out.push_back(uint8_t(headerLen >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), array.bytes.begin(), array.bytes.end());
  return out;
}

Status writeNpy(const std::string &path, const HostArray &array) {
  uint64_t expected = 0;
  if (Status s = byteSize(array.shape, dtypeSize(array.dtype), expected); !s)
    return Status::error(withPath(path, s));
  if (expected != array.bytes.size())
    return Status::error(path + ": cannot write " + array.describe() +
                         ": it needs " + std::to_string(expected) +
                         " bytes of data but has " +
                         std::to_string(array.bytes.size()));
  std::vector<uint8_t> bytes = serializeNpy(array);
  if (bytes.empty())
    return Status::error(path + ": cannot write an array of invalid dtype");

  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return Status::error(path +
                         ": cannot open for writing: " + std::strerror(errno));
  size_t written = std::fwrite(bytes.data(), 1, bytes.size(), f);
  int err = written != bytes.size() ? (errno ? errno : EIO) : 0;
  if (std::fclose(f) != 0 && !err)
    err = errno ? errno : EIO;
  if (err)
    return Status::error(path + ": write failed: " + std::strerror(err));
  return Status::ok();
}

} // namespace mixrt
