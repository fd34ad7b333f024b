//===- NpyTest.cpp - mixrt .npy reading and writing -----------------------===//

#include "mixrt/Npy.h"
#include "mixrt/Types.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <tuple>
#include <unistd.h>

using namespace mixrt;
namespace fs = std::filesystem;

namespace {

/// A string literal as bytes, embedded NULs included.
template <size_t N> std::string bytes(const char (&s)[N]) {
  return std::string(s, N - 1);
}

Status parse(const std::string &file, HostArray &out) {
  return parseNpy(reinterpret_cast<const uint8_t *>(file.data()), file.size(),
                  out);
}

std::string toString(const std::vector<uint8_t> &v) {
  return std::string(v.begin(), v.end());
}

/// Builds a .npy file around a header dict (no padding) and raw data.
std::string makeNpy(const std::string &dict, const std::string &data,
                    int major = 1) {
  std::string header = dict + "\n";
  std::string out = bytes("\x93NUMPY");
  out += char(major);
  out += '\0';
  for (int i = 0; i < (major == 1 ? 2 : 4); ++i)
    out += char((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

const std::string kF32Dict =
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";

std::string f32Data(size_t n) { return std::string(n, '\x01'); }

/// Checks that `s` failed with a one-line message containing every needle.
::testing::AssertionResult failsWith(const Status &s,
                                     const std::vector<std::string> &needles) {
  if (s.isOk())
    return ::testing::AssertionFailure() << "expected an error, got success";
  const std::string &m = s.message();
  if (m.find('\n') != std::string::npos)
    return ::testing::AssertionFailure() << "message is not one line: " << m;
  for (const std::string &needle : needles)
    if (m.find(needle) == std::string::npos)
      return ::testing::AssertionFailure()
             << "message \"" << m << "\" does not contain \"" << needle << "\"";
  return ::testing::AssertionSuccess() << m;
}

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

TEST(Types, NamesAndSizes) {
  const std::tuple<DType, const char *, size_t> table[] = {
      {DType::f32, "f32", 4},   {DType::f16, "f16", 2},
      {DType::bf16, "bf16", 2}, {DType::f64, "f64", 8},
      {DType::i8, "i8", 1},     {DType::i16, "i16", 2},
      {DType::i32, "i32", 4},   {DType::i64, "i64", 8},
      {DType::u8, "ui8", 1},    {DType::u16, "ui16", 2},
      {DType::u32, "ui32", 4},  {DType::u64, "ui64", 8},
      {DType::boolean, "i1", 1}};
  for (auto [t, name, size] : table) {
    EXPECT_STREQ(dtypeName(t), name);
    EXPECT_EQ(dtypeSize(t), size) << name;
  }
}

TEST(Types, Describe) {
  HostArray a;
  a.dtype = DType::bf16;
  EXPECT_EQ(a.describe(), "bf16");
  a.shape = {2, 3, 4};
  EXPECT_EQ(a.describe(), "2x3x4xbf16");
  a.dtype = DType::u8;
  a.shape = {0};
  EXPECT_EQ(a.describe(), "0xui8");
}

//===----------------------------------------------------------------------===//
// Round trips
//===----------------------------------------------------------------------===//

const DType kAllDTypes[] = {DType::f32,    DType::f16, DType::bf16, DType::f64,
                            DType::i8,     DType::i16, DType::i32,  DType::i64,
                            DType::u8,     DType::u16, DType::u32,  DType::u64,
                            DType::boolean};
const std::vector<int64_t> kShapes[] = {{}, {5}, {2, 3, 1, 4}, {3, 0, 2}};

class RoundTrip
    : public ::testing::TestWithParam<std::tuple<DType, std::vector<int64_t>>> {
};

TEST_P(RoundTrip, SerializeThenParse) {
  HostArray in;
  in.dtype = std::get<0>(GetParam());
  in.shape = std::get<1>(GetParam());
  in.bytes.resize(in.numElements() * dtypeSize(in.dtype));
  for (size_t i = 0; i < in.bytes.size(); ++i)
    in.bytes[i] = uint8_t(i * 37 + 11);
  if (in.dtype == DType::boolean)
    for (uint8_t &b : in.bytes)
      b &= 1;

  std::vector<uint8_t> file = serializeNpy(in);
  ASSERT_FALSE(file.empty());
  EXPECT_EQ((file.size() - in.bytes.size()) % 64, 0u) << "data not aligned";
  EXPECT_EQ(file[6], 1) << "expected format version 1.0";

  HostArray out;
  ASSERT_TRUE(parseNpy(file.data(), file.size(), out)) << in.describe();
  EXPECT_EQ(out.dtype, in.dtype);
  EXPECT_EQ(out.shape, in.shape);
  EXPECT_EQ(out.bytes, in.bytes);
}

INSTANTIATE_TEST_SUITE_P(AllDTypesAndShapes, RoundTrip,
                         ::testing::Combine(::testing::ValuesIn(kAllDTypes),
                                            ::testing::ValuesIn(kShapes)),
                         [](const auto &info) {
                           std::string name =
                               dtypeName(std::get<0>(info.param));
                           name += "_r" + std::to_string(
                                              std::get<1>(info.param).size());
                           for (int64_t d : std::get<1>(info.param))
                             name += "_" + std::to_string(d);
                           return name;
                         });

TEST(Serialize, LargeHeaderUsesVersion2) {
  HostArray in;
  in.dtype = DType::f32;
  in.shape.assign(30000, 1); // "1, " per dimension: a header over 64 KiB
  in.bytes = {1, 2, 3, 4};
  std::vector<uint8_t> file = serializeNpy(in);
  ASSERT_GT(file.size(), 65536u);
  EXPECT_EQ(file[6], 2);
  EXPECT_EQ(file[7], 0);
  EXPECT_EQ((file.size() - 4) % 64, 0u);
  HostArray out;
  ASSERT_TRUE(parseNpy(file.data(), file.size(), out));
  EXPECT_EQ(out.shape, in.shape);
  EXPECT_EQ(out.bytes, in.bytes);
}

TEST(Serialize, InconsistentArrayGivesNothing) {
  HostArray a;
  a.shape = {2, 3};
  a.bytes.resize(20);
  EXPECT_TRUE(serializeNpy(a).empty());
  a.shape = {-1};
  a.bytes.clear();
  EXPECT_TRUE(serializeNpy(a).empty());
}

//===----------------------------------------------------------------------===//
// Files written by numpy 2.4 (np.save; format.write_array for 2.0 and 3.0)
//===----------------------------------------------------------------------===//

// clang-format off
// np.arange(6, dtype=np.float32).reshape(2, 3)
const std::string kF32Matrix = bytes("\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }                                                          \x0a"
    "\x00\x00\x00\x00\x00\x00\x80?\x00\x00\x00@\x00\x00@@\x00\x00\x80@\x00\x00\xa0@");
// np.array(3.0, dtype=np.float32)
const std::string kF32Scalar = bytes("\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (), }                                                              \x0a"
    "\x00\x00@@");
// np.array([1.5, -2], dtype=ml_dtypes.bfloat16)
const std::string kBf16Vec = bytes("\x93NUMPY\x01\x00v\x00{'descr': '<V2', 'fortran_order': False, 'shape': (2,), }                                                            \x0a"
    "\xc0?\x00\xc0");
// np.array([True, False, True])
const std::string kBoolVec = bytes("\x93NUMPY\x01\x00v\x00{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }                                                            \x0a"
    "\x01\x00\x01");
// np.array([-1, 2], dtype=np.int8)
const std::string kI8Vec = bytes("\x93NUMPY\x01\x00v\x00{'descr': '|i1', 'fortran_order': False, 'shape': (2,), }                                                            \x0a"
    "\xff\x02");
// np.array([1, -0.5], dtype=np.float16)
const std::string kF16Vec = bytes("\x93NUMPY\x01\x00v\x00{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }                                                            \x0a"
    "\x00<\x00\xb8");
// np.zeros((2, 0, 3), dtype=np.int16)
const std::string kI16Empty = bytes("\x93NUMPY\x01\x00v\x00{'descr': '<i2', 'fortran_order': False, 'shape': (2, 0, 3), }                                                       \x0a");
// np.array([[1, -2], [3, 4]], dtype=np.int64), version=(2, 0)
const std::string kI64V2 = bytes("\x93NUMPY\x02\x00t\x00\x00\x00{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }                                                        \x0a"
    "\x01\x00\x00\x00\x00\x00\x00\x00\xfe\xff\xff\xff\xff\xff\xff\xff\x03\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00");
// np.array([1, 65535], dtype=np.uint16), version=(3, 0)
const std::string kU16V3 = bytes("\x93NUMPY\x03\x00t\x00\x00\x00{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }                                                          \x0a"
    "\x01\x00\xff\xff");
// clang-format on

struct Fixture {
  const char *name;
  const std::string &file;
  DType dtype;
  std::vector<int64_t> shape;
  int version;
};

class NumpyFixture : public ::testing::TestWithParam<Fixture> {};

TEST_P(NumpyFixture, ParsesAndReserializes) {
  const Fixture &f = GetParam();
  HostArray a;
  ASSERT_TRUE(parse(f.file, a)) << f.name;
  EXPECT_EQ(a.dtype, f.dtype);
  EXPECT_EQ(a.shape, f.shape);
  size_t n = a.numElements() * dtypeSize(f.dtype);
  ASSERT_EQ(a.bytes.size(), n);
  EXPECT_EQ(toString(a.bytes), f.file.substr(f.file.size() - n));
  // We write what numpy writes, byte for byte.
  if (f.version == 1) {
    EXPECT_EQ(toString(serializeNpy(a)), f.file);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Numpy, NumpyFixture,
    ::testing::Values(Fixture{"F32Matrix", kF32Matrix, DType::f32, {2, 3}, 1},
                      Fixture{"F32Scalar", kF32Scalar, DType::f32, {}, 1},
                      Fixture{"Bf16Vec", kBf16Vec, DType::bf16, {2}, 1},
                      Fixture{"BoolVec", kBoolVec, DType::boolean, {3}, 1},
                      Fixture{"I8Vec", kI8Vec, DType::i8, {2}, 1},
                      Fixture{"F16Vec", kF16Vec, DType::f16, {2}, 1},
                      Fixture{"I16Empty", kI16Empty, DType::i16, {2, 0, 3}, 1},
                      Fixture{"I64V2", kI64V2, DType::i64, {2, 2}, 2},
                      Fixture{"U16V3", kU16V3, DType::u16, {2}, 3}),
    [](const auto &info) { return std::string(info.param.name); });

template <typename T> T element(const HostArray &a, size_t i) {
  T v;
  std::memcpy(&v, a.bytes.data() + i * sizeof(T), sizeof(T));
  return v;
}

TEST(Numpy, Values) {
  HostArray a;
  ASSERT_TRUE(parse(kF32Matrix, a));
  EXPECT_EQ(element<float>(a, 5), 5.0f);
  ASSERT_TRUE(parse(kF32Scalar, a));
  EXPECT_EQ(element<float>(a, 0), 3.0f);
  ASSERT_TRUE(parse(kBf16Vec, a));
  EXPECT_EQ(element<uint16_t>(a, 0), 0x3fc0); // 1.5
  EXPECT_EQ(element<uint16_t>(a, 1), 0xc000); // -2
  ASSERT_TRUE(parse(kI64V2, a));
  EXPECT_EQ(element<int64_t>(a, 1), -2);
  ASSERT_TRUE(parse(kU16V3, a));
  EXPECT_EQ(element<uint16_t>(a, 1), 65535);
}

//===----------------------------------------------------------------------===//
// Header variants that must be accepted
//===----------------------------------------------------------------------===//

struct Variant {
  const char *name;
  std::string dict;
  DType dtype;
  std::vector<int64_t> shape;
};

class HeaderVariant : public ::testing::TestWithParam<Variant> {};

TEST_P(HeaderVariant, Parses) {
  const Variant &v = GetParam();
  HostArray tmp;
  tmp.shape = v.shape;
  size_t n = tmp.numElements() * dtypeSize(v.dtype);
  HostArray a;
  Status s = parse(makeNpy(v.dict, std::string(n, '\x01')), a);
  ASSERT_TRUE(s) << s.message();
  EXPECT_EQ(a.dtype, v.dtype);
  EXPECT_EQ(a.shape, v.shape);
  EXPECT_EQ(a.bytes.size(), n);
}

INSTANTIATE_TEST_SUITE_P(
    Npy, HeaderVariant,
    ::testing::Values(
        Variant{"KeyOrder",
                "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",
                DType::f32,
                {2, 3}},
        Variant{"DoubleQuotes",
                "{\"descr\": \"<i4\", \"fortran_order\": False, \"shape\": "
                "(4,)}",
                DType::i32,
                {4}},
        Variant{"Spacing",
                " {  'descr' :'<u4' ,\n\t'fortran_order':False,'shape':( 2 ,3 "
                ", ) ,}  \n\n ",
                DType::u32,
                {2, 3}},
        Variant{"OneTupleWithoutComma",
                "{'descr': '<f8', 'fortran_order': False, 'shape': (5)}",
                DType::f64,
                {5}},
        Variant{"Python2Longs",
                "{'descr': '<u8', 'fortran_order': False, 'shape': (2L, 3L), }",
                DType::u64,
                {2, 3}},
        Variant{"NativeOrder",
                "{'descr': '=f4', 'fortran_order': False, 'shape': (), }",
                DType::f32,
                {}},
        Variant{"PipeV2IsBf16",
                "{'descr': '|V2', 'fortran_order': False, 'shape': (3,), }",
                DType::bf16,
                {3}},
        Variant{"BigEndianByte",
                "{'descr': '>u1', 'fortran_order': False, 'shape': (3,), }",
                DType::u8,
                {3}},
        Variant{"LittleI1",
                "{'descr': '<i1', 'fortran_order': False, 'shape': (3,), }",
                DType::i8,
                {3}},
        Variant{
            "I2",
            "{'descr': '<i2', 'fortran_order': False, 'shape': (1, 1, 1, 1), }",
            DType::i16,
            {1, 1, 1, 1}}),
    [](const auto &info) { return std::string(info.param.name); });

TEST(Npy, HeaderWithoutNewline) {
  std::string file = makeNpy(kF32Dict, f32Data(24));
  file.erase(file.find('\n'), 1);
  file[8] -= 1; // header length
  HostArray a;
  EXPECT_TRUE(parse(file, a));
}

//===----------------------------------------------------------------------===//
// Corrupt files
//===----------------------------------------------------------------------===//

struct Corrupt {
  const char *name;
  std::string file;
  std::vector<std::string> needles;
};

class CorruptFile : public ::testing::TestWithParam<Corrupt> {};

TEST_P(CorruptFile, IsRejected) {
  HostArray a;
  EXPECT_TRUE(failsWith(parse(GetParam().file, a), GetParam().needles));
}

std::string withDict(const std::string &dict, size_t dataBytes = 0) {
  return makeNpy(dict, f32Data(dataBytes));
}

std::string f32WithShape(const std::string &shape, size_t dataBytes = 0) {
  return withDict("{'descr': '<f4', 'fortran_order': False, 'shape': " + shape +
                      ", }",
                  dataBytes);
}

std::string withDescr(const std::string &descr) {
  return withDict("{'descr': " + descr +
                      ", 'fortran_order': False, 'shape': (2, 3), }",
                  24);
}

const Corrupt kCorrupt[] = {
    {"Empty", "", {"not a .npy file", "0 bytes"}},
    {"BadMagic",
     "\x93NUMPX" + makeNpy(kF32Dict, f32Data(24)).substr(6),
     {"bad magic"}},
    {"TextFile", "hello, this is not an array", {"bad magic"}},
    {"TruncatedVersion", bytes("\x93NUMPY\x01"), {"truncated header"}},
    {"TruncatedHeaderLength",
     bytes("\x93NUMPY\x01\x00\x10"),
     {"truncated header"}},
    {"TruncatedHeader",
     makeNpy(kF32Dict, "").substr(0, 40),
     {"truncated header", "header length 60 exceeds the 30 bytes left"}},
    {"HeaderLengthBeyondFile",
     bytes("\x93NUMPY\x02\x00\xff\xff\xff\xff{'descr': '<f4'}"),
     {"truncated header", "header length 4294967295"}},
    {"Version4", makeNpy(kF32Dict, f32Data(24), 4), {"version 4.0"}},
    {"Version1_1",
     [] {
       std::string f = makeNpy(kF32Dict, f32Data(24));
       f[7] = 1;
       return f;
     }(),
     {"version 1.1"}},
    {"TruncatedData",
     makeNpy(kF32Dict, f32Data(20)),
     {"truncated data", "expected 24 bytes of data", "got 20"}},
    {"NoData",
     makeNpy(kF32Dict, ""),
     {"truncated data", "expected 24 bytes of data", "got 0"}},
    {"ExtraData",
     makeNpy(kF32Dict, f32Data(28)),
     {"trailing data", "expected 24 bytes of data", "got 28"}},
    {"ExtraDataAfterEmpty",
     f32WithShape("(0,)", 1),
     {"trailing data", "expected 0 bytes of data", "got 1"}},
    {"UnknownDescr", withDescr("'<c8'"), {"unsupported descr '<c8'"}},
    {"DatetimeDescr", withDescr("'<M8[ns]'"), {"unsupported descr '<M8[ns]'"}},
    {"WideVoid", withDescr("'<V4'"), {"unsupported descr '<V4'"}},
    {"EmptyDescr", withDescr("''"), {"unsupported descr ''"}},
    {"ControlCharDescr", withDescr("'<\x01'"), {"'<\\x01'"}},
    {"StructuredDescr", withDescr("[('a', '<f4')]"), {"structured"}},
    {"BigEndian", withDescr("'>f4'"), {"big-endian descr '>f4'"}},
    {"BigEndianI8", withDescr("'>i8'"), {"big-endian descr '>i8'"}},
    {"FortranOrder",
     withDict("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24),
     {"fortran_order arrays are not supported; save with "
      "np.ascontiguousarray"}},
    {"NoBrace", withDict("'descr': '<f4'"), {"malformed header", "'{'"}},
    {"MissingShape",
     withDict("{'descr': '<f4', 'fortran_order': False}"),
     {"malformed header", "missing key 'shape'"}},
    {"MissingDescr",
     withDict("{'fortran_order': False, 'shape': ()}"),
     {"missing key 'descr'"}},
    {"UnknownKey",
     withDict("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}"),
     {"unexpected key 'x'"}},
    {"DuplicateKey",
     withDict("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
              "'shape': ()}"),
     {"duplicate key 'descr'"}},
    {"BadBool",
     withDict("{'descr': '<f4', 'fortran_order': 0, 'shape': ()}"),
     {"True or False"}},
    {"UnterminatedString",
     withDict("{'descr': '<f4"),
     {"malformed header", "unterminated string", "\"{'descr': '<f4\""}},
    {"UnterminatedDict",
     withDict("{'descr': '<f4', 'fortran_order': False, 'shape': ()"),
     {"malformed header", "expected ',' or '}'"}},
    {"MissingColon",
     withDict("{'descr' '<f4'}"),
     {"expected ':' after key 'descr' at offset 9 of \"{'descr' '<f4'}\""}},
    {"UnquotedKey", withDict("{descr: '<f4'}"), {"expected a quoted key"}},
    {"NulInHeader",
     withDict(std::string("{'descr': '<f4', 'fortran_order': False,") + '\0' +
              "'shape': ()}"),
     {"expected a quoted key", "\\x00"}},
    {"TextAfterDict",
     withDict("{'descr': '<f4', 'fortran_order': False, 'shape': ()} x"),
     {"unexpected text after the header dict"}},
    {"ShapeList", f32WithShape("[2, 3]"), {"'shape' must be a tuple"}},
    {"ShapeFloat", f32WithShape("(2.5,)"), {"expected ',' or ')'"}},
    {"ShapeUnclosed", f32WithShape("(2, 3"), {"malformed header"}},
    {"ShapeEmptyDim", f32WithShape("(2, , 3)"), {"integer dimension"}},
    {"NegativeDim", f32WithShape("(-1, 3)"), {"negative dimension -1"}},
    {"HugeDim",
     f32WithShape("(99999999999999999999,)"),
     {"too large", "overflows 64 bits"}},
    {"ElementCountOverflow",
     f32WithShape("(9223372036854775807, 2)"),
     {"too large", "overflows 64 bits"}},
    {"ByteCountOverflow",
     f32WithShape("(4611686018427387904,)"),
     {"too large", "overflows 64 bits"}},
    {"HugeButRepresentable",
     f32WithShape("(1000000000, 1000000000)", 4),
     {"truncated data", "expected 4000000000000000000 bytes of data", "got 4"}},
};

INSTANTIATE_TEST_SUITE_P(Npy, CorruptFile, ::testing::ValuesIn(kCorrupt),
                         [](const auto &info) {
                           return std::string(info.param.name);
                         });

//===----------------------------------------------------------------------===//
// Files
//===----------------------------------------------------------------------===//

class NpyFiles : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::path(::testing::TempDir()) /
          ("mixrt-npytest-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    ASSERT_TRUE(fs::create_directories(dir));
  }
  void TearDown() override { fs::remove_all(dir); }

  std::string path(const std::string &name) { return (dir / name).string(); }

  void writeRaw(const std::string &p, const std::string &contents) {
    std::ofstream(p, std::ios::binary) << contents;
  }

  fs::path dir;
};

TEST_F(NpyFiles, WriteThenRead) {
  HostArray in;
  in.dtype = DType::bf16;
  in.shape = {2, 2};
  in.bytes = {1, 2, 3, 4, 5, 6, 7, 8};
  std::string p = path("a.npy");
  ASSERT_TRUE(writeNpy(p, in));

  std::ifstream is(p, std::ios::binary);
  std::string contents((std::istreambuf_iterator<char>(is)), {});
  EXPECT_EQ(contents, toString(serializeNpy(in)));

  HostArray out;
  Status s = readNpy(p, out);
  ASSERT_TRUE(s) << s.message();
  EXPECT_EQ(out.dtype, in.dtype);
  EXPECT_EQ(out.shape, in.shape);
  EXPECT_EQ(out.bytes, in.bytes);
}

TEST_F(NpyFiles, ReadsNumpyFile) {
  std::string p = path("v2.npy");
  writeRaw(p, kI64V2);
  HostArray a;
  ASSERT_TRUE(readNpy(p, a));
  EXPECT_EQ(a.describe(), "2x2xi64");
  EXPECT_EQ(element<int64_t>(a, 3), 4);
}

TEST_F(NpyFiles, MissingFile) {
  std::string p = path("missing.npy");
  HostArray a;
  EXPECT_TRUE(failsWith(readNpy(p, a), {p + ": ", "No such file"}));
}

TEST_F(NpyFiles, Directory) {
  HostArray a;
  EXPECT_TRUE(
      failsWith(readNpy(dir.string(), a), {dir.string() + ": ", "directory"}));
}

TEST_F(NpyFiles, CorruptFileNamesPath) {
  std::string p = path("short.npy");
  writeRaw(p, makeNpy(kF32Dict, f32Data(10)));
  HostArray a;
  Status s = readNpy(p, a);
  ASSERT_TRUE(failsWith(s, {"truncated data", "got 10"}));
  EXPECT_EQ(s.message().rfind(p + ": ", 0), 0u) << s.message();
}

TEST_F(NpyFiles, WriteIntoMissingDirectory) {
  std::string p = path("no/such/dir/a.npy");
  HostArray a;
  a.bytes.resize(4);
  EXPECT_TRUE(failsWith(writeNpy(p, a), {p + ": ", "cannot open"}));
}

TEST_F(NpyFiles, WriteInconsistentArray) {
  std::string p = path("bad.npy");
  HostArray a;
  a.shape = {2, 3};
  a.bytes.resize(20);
  EXPECT_TRUE(failsWith(writeNpy(p, a), {p + ": ", "2x3xf32", "24 bytes"}));
  a.shape = {2, -3};
  EXPECT_TRUE(failsWith(writeNpy(p, a), {p + ": ", "negative dimension -3"}));
  EXPECT_FALSE(fs::exists(p));
}

} // namespace
