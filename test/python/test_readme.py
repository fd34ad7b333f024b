"""README.md tells the truth: every code block in it runs, and every tool,
flag, Python name, make target and path it names exists.

- ```python blocks run in a subprocess (this interpreter, a fresh temporary
  directory as cwd, PYTHONPATH inherited, the build's bin/ first on PATH) and
  must exit 0; they assert their own results.
- ```cpp blocks are complete programs: compiled with g++ -std=c++17 against
  include/ and linked with libmixir (libmixir_runtime when they include only
  the runtime headers), then run; an artifact they read is made first with
  mixir-compile.
- ```sh blocks run with bash in a temporary directory that mirrors the
  repository root (build/ is the build tree this test uses); the .npy inputs
  of a mixir-run command are generated from the entry function's signature.
- ```mlir blocks must parse and verify with mixir-opt.
- A block that cannot run here (set-up, builds, benchmarks, GPU machines)
  carries `<!-- not run by test_readme.py: REASON -->` on the line before its
  fence; the make/pip/cmake/find_package/pkg-config commands in such blocks
  must be ones the test suites (or CI) really run.
- Names: `mixir-*` tools exist in build/bin (or are pipelines of mixir-opt);
  `--flags` after a tool exist in its --help (after a script, in the script);
  `mixir.*` Python names resolve, and keyword arguments and defaults written
  in a `mixir.f(...)` signature match; `make` targets and variables are in
  the Makefile; backticked paths exist; links stay inside the repository.

The build tree is the one the imported `mixir` package lives in
(build/python/mixir -> build).
"""

import ast
import functools
import glob
import importlib
import importlib.util
import inspect
import os
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import mixir
from needs import need

REPO = pathlib.Path(__file__).resolve().parents[2]
README = REPO / "README.md"
TEXT = README.read_text()
LINES = TEXT.splitlines()
BUILD = pathlib.Path(mixir.__file__).resolve().parents[2]
BIN = BUILD / "bin"
TIMEOUT = 300

MARKER = re.compile(r"^<!--\s*not run by test_readme\.py:(.*?)-->$")
RUNNABLE = ("python", "cpp", "sh", "mlir")


def _build_tree():
    if not (BIN / "mixir-opt").exists():
        pytest.fail(f"no build tree at {BUILD} (mixir was imported from "
                    f"{mixir.__file__}): run with PYTHONPATH=BUILD/python",
                    pytrace=False)


# --- parsing the README ------------------------------------------------------------
def _slug(heading):
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")[:24] or "top"


def _blocks():
    """(lang, first line number, body, marker reason or None, section slug)."""
    out, section, i = [], "top", 0
    while i < len(LINES):
        line = LINES[i]
        if line.startswith("#") and not line.startswith("#!"):
            section = _slug(line.lstrip("#"))
        m = re.match(r"^```(\S*)\s*$", line)
        if m:
            start, body = i + 1, []
            i += 1
            while i < len(LINES) and LINES[i] != "```":
                body.append(LINES[i])
                i += 1
            prev = LINES[start - 2] if start >= 2 else ""
            mk = MARKER.match(prev)
            out.append((m.group(1), start, "\n".join(body) + "\n",
                        mk.group(1).strip() if mk else None, section))
        i += 1
    return out


BLOCKS = _blocks()


def _prose():
    """The README without its fenced blocks."""
    keep, inside = [], False
    for line in LINES:
        if line.startswith("```"):
            inside = not inside
            continue
        if not inside:
            keep.append(line)
    return "\n".join(keep)


PROSE = _prose()
# Code spans may wrap across lines in the source; join them.
SPANS = [" ".join(s.split()) for s in re.findall(r"`([^`]+)`", PROSE)]


def _block_id(b):
    return f"{b[0] or 'plain'}-line{b[1]}-{b[4]}"


def _runnable(lang):
    return [b for b in BLOCKS if b[0] == lang and b[3] is None]


# --- 1. python blocks ----------------------------------------------------------------
def _imported_modules(code):
    mods = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            mods.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            mods.add(node.module.split(".")[0])
    return sorted(mods)


def _env():
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _check_run(r, what):
    assert r.returncode == 0, (f"{what} exited {r.returncode}\n--- stdout\n"
                               f"{r.stdout[-4000:]}\n--- stderr\n{r.stderr[-4000:]}")


@pytest.mark.parametrize("block", _runnable("python"), ids=_block_id)
def test_python_block(block, tmp_path):
    _build_tree()
    code = block[2]
    for mod in _imported_modules(code):
        if importlib.util.find_spec(mod) is None:
            need(mod)  # an optional package missing: fail naming it, never skip
    path = tmp_path / "block.py"
    path.write_text(code)
    r = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=_env(),
                       capture_output=True, text=True, timeout=TIMEOUT)
    _check_run(r, f"README python block at line {block[1]}")


# --- 2. cpp blocks -------------------------------------------------------------------
# Inputs the C++ examples read, and the command that makes each (which the
# README must show, so a reader can make it too).
CPP_INPUTS = {"scan.mixir": ["mixir-compile", "test/Tools/Inputs/scan.mlir",
                             "--emit=artifact", "-o", "scan.mixir"]}


@pytest.mark.parametrize("block", _runnable("cpp"), ids=_block_id)
def test_cpp_block(block, tmp_path):
    _build_tree()
    code = block[2]
    includes = set(re.findall(r'#include\s+"(mixir-c/[^"]+)"', code))
    assert includes, "a C++ example that includes no MixIR header"
    runtime_only = includes <= {"mixir-c/Runtime.h", "mixir-c/Runtime.hpp"}
    lib = "mixir_runtime" if runtime_only else "mixir"
    for name, cmd in CPP_INPUTS.items():
        if f'"{name}"' in code:
            shown = " ".join(cmd)
            assert shown in " ".join(TEXT.split()), \
                f"the README should show how {name} is made: `{shown}`"
            r = subprocess.run([str(BIN / cmd[0]), str(REPO / cmd[1]), *cmd[2:]],
                               cwd=tmp_path, capture_output=True, text=True,
                               timeout=TIMEOUT)
            _check_run(r, shown)
    src, exe = tmp_path / "example.cpp", tmp_path / "example"
    src.write_text(code)
    r = subprocess.run(["g++", "-std=c++17", "-O1", str(src), f"-I{REPO / 'include'}",
                        f"-L{BUILD / 'lib'}", f"-l{lib}",
                        f"-Wl,-rpath,{BUILD / 'lib'}", "-o", str(exe)],
                       capture_output=True, text=True, timeout=TIMEOUT)
    _check_run(r, f"g++ on the README C++ block at line {block[1]}")
    if runtime_only:
        ldd = subprocess.run(["ldd", str(exe)], capture_output=True, text=True).stdout
        assert not re.search(r"libMLIR|libLLVM|libmixir\.so", ldd), \
            f"a runtime-only example links the compiler:\n{ldd}"
    r = subprocess.run([str(exe)], cwd=tmp_path, capture_output=True, text=True,
                       timeout=TIMEOUT)
    _check_run(r, f"the README C++ program at line {block[1]}")


# --- 3. sh blocks --------------------------------------------------------------------
def _commands(text):
    """Command segments of shell text: backslash-continued lines joined, split
    at newlines, pipes, `;`, `&&`, `||` and `$(`. Each is a token list."""
    text = re.sub(r"\\\n", " ", text)
    segs = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0] if not line.lstrip().startswith("#") else ""
        for seg in re.split(r"\|\||&&|[|;]|\$\(", line):
            toks = [t.strip("[]()\"',") for t in seg.split()]
            toks = [t for t in toks if t]
            if toks:
                segs.append(toks)
    return segs


_ARG = re.compile(r"%(\w+)\s*:\s*tensor<([^>]*)>")


def _signature(mlir_text, entry):
    """[(name, shape with None for ?, element type)] of @entry's arguments
    (the only public function when entry is None)."""
    funcs = re.findall(r"func\.func\s+(?:public\s+)?@(\w+)\s*\((.*?)\)\s*(?:->|\{)",
                       mlir_text, re.S)
    if entry is None:
        assert len(funcs) == 1, "mixir-run without --entry on a module with " \
                                f"{len(funcs)} functions"
        entry = funcs[0][0]
    params = dict(funcs)[entry]
    out = []
    for name, ty in _ARG.findall(params):
        *dims, elem = ty.split("x")
        out.append((name, [None if d == "?" else int(d) for d in dims], elem))
    return out


def _make_input(path, name, dims, elem, rng):
    import ml_dtypes
    shape = [(1 if i == 0 else 24) if d is None else d for i, d in enumerate(dims)]
    if name.startswith("g") or name in ("a", "f"):
        x = -rng.uniform(0.02, 0.5, shape)          # log decays
    elif name.startswith("beta") or name == "b":
        x = rng.uniform(0.0, 1.0, shape)
    else:
        x = 0.5 * rng.standard_normal(shape)
    dtype = {"bf16": ml_dtypes.bfloat16, "f16": np.float16, "f32": np.float32,
             "f64": np.float64}[elem]
    np.save(path, x.astype(dtype))


def _prepare_inputs(block_text, cwd):
    """Writes the .npy files the block's mixir-run commands read that no earlier
    command of the block makes, shaped by the entry function's signature."""
    rng = np.random.default_rng(0)
    for toks in _commands(block_text):
        if not toks[0].endswith("mixir-run"):
            continue
        module = next((t for t in toks[1:] if t.endswith(".mlir")), None)
        inputs = [t.split("=", 1)[1] for t in toks if t.startswith("--input=")]
        if module is None or not inputs:
            continue
        entry = next((t.split("=", 1)[1] for t in toks if t.startswith("--entry=")),
                     None)
        sig = _signature((cwd / module).read_text(), entry)
        assert len(sig) == len(inputs), \
            f"{module}: {len(sig)} arguments, {len(inputs)} --input files"
        for f, (name, dims, elem) in zip(inputs, sig):
            if not (cwd / f).exists():
                _make_input(cwd / f, name, dims, elem, rng)


def _mirror_repo(tmp_path):
    for entry in REPO.iterdir():
        if entry.name not in (".git", "build"):
            (tmp_path / entry.name).symlink_to(entry)
    (tmp_path / "build").symlink_to(BUILD)


@pytest.mark.parametrize("block", _runnable("sh"), ids=_block_id)
def test_sh_block(block, tmp_path):
    _build_tree()
    _mirror_repo(tmp_path)
    _prepare_inputs(block[2], tmp_path)
    r = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block[2]],
                       cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT)
    _check_run(r, f"README sh block at line {block[1]}")


@pytest.mark.parametrize("block", _runnable("mlir"), ids=_block_id)
def test_mlir_block(block, tmp_path):
    _build_tree()
    path = tmp_path / "block.mlir"
    path.write_text(block[2])
    r = subprocess.run([str(BIN / "mixir-opt"), str(path), "-o", os.devnull],
                       capture_output=True, text=True, timeout=TIMEOUT)
    _check_run(r, f"mixir-opt on the README mlir block at line {block[1]}")


# --- blocks that are not run ---------------------------------------------------------
UNRUN = [b for b in BLOCKS if b[3] is not None or b[0] not in RUNNABLE]


@pytest.mark.parametrize("block", UNRUN, ids=_block_id)
def test_unrun_block_says_why(block):
    assert block[3], (f"the {block[0] or 'plain'} block at line {block[1]} is not "
                      f"run by this test: put '<!-- not run by test_readme.py: "
                      f"REASON -->' on the line before its fence")


def _contains(path, needle):
    return " ".join(needle.split()) in " ".join((REPO / path).read_text().split())


# (pattern in an unrun block, file, what that file must contain): the command is
# one the suites or CI really run.
REALLY_RUN = [
    (r"\bmake run\b", ".ci/run", "make run"),
    (r"\bmake run PYTHON=", ".ci/run", "make run PYTHON="),
    (r"\bmake test\b", ".ci/run", "make test"),
    (r"\bmake test PYTHON=", ".ci/run", "make test PYTHON="),
    (r"-m venv\b", ".ci/run", "-m venv"),
    (r"\bpip install \.", "scripts/check_install.sh", "-m pip install"),
    (r"\bcmake --install\b", "scripts/check_install.sh", "cmake --install"),
    (r"pkg-config .*mixir-runtime", "scripts/check_install.sh",
     "pkg-config --cflags mixir-runtime"),
    (r"pkg-config .*mixir-runtime", "scripts/check_install.sh",
     "pkg-config --libs mixir-runtime"),
    (r"find_package\(MixIR", "test/install/CMakeLists.txt", "find_package(MixIR"),
    (r"MixIR::runtime", "test/install/CMakeLists.txt", "MixIR::runtime"),
    (r"MixIR::compiler", "test/install/CMakeLists.txt", "MixIR::compiler"),
]


@pytest.mark.parametrize("block", [b for b in BLOCKS if b[3] is not None],
                         ids=_block_id)
def test_unrun_commands_are_what_the_suites_run(block):
    body = block[2]
    for pattern, path, needle in REALLY_RUN:
        if re.search(pattern, body):
            assert _contains(path, needle), \
                f"the README shows {pattern!r}, but {path} has no {needle!r}"
    for m in re.finditer(r"apt-get install\s+(?:-\S+\s+)*([^\n#]+)", body):
        for pkg in m.group(1).split():
            assert re.search(rf"(?<![\w-]){re.escape(pkg)}(?![\w-])",
                             (REPO / "scripts/setup.sh").read_text()), \
                f"apt package {pkg} is not one scripts/setup.sh installs"
    if block[0] == "cmake":  # a fragment of the project the install suite builds
        for line in body.splitlines():
            code = line.split("#", 1)[0].strip()
            if code:
                assert _contains("test/install/CMakeLists.txt", code), \
                    f"{code!r} is not in test/install/CMakeLists.txt"


# --- 4. names ------------------------------------------------------------------------
# `mixir-...` words that are not tools, and where each is real.
NOT_TOOLS = {
    "mixir-c": ("include/mixir-c", None),                       # header folder
    "mixir-dev": ("Makefile", "mixir-dev.pth"),                 # make build's .pth
    "mixir-runtime": ("cmake/mixir-runtime.pc.in", "Name: mixir-runtime"),
    "mixir-fuzz": (".ci/run", ".cache/mixir-fuzz"),            # CI's corpus
    # libFuzzer targets: built only in the fuzz build (-DMIXIR_FUZZ=ON).
    **{f"mixir-fuzz-{t}": ("test/fuzz/CMakeLists.txt",
                           f"mixir_add_fuzzer(mixir-fuzz-{t} ")
       for t in ("npy", "artifact", "mlir", "onnx", "stablehlo")},
}


def _tool_words():
    # Not file names (mixir-artifact.test): those are checked as paths.
    return sorted(set(re.findall(
        r"(?<![\w.-])(mixir-[a-z][a-z0-9-]*[a-z0-9])(?![\w-]|\.\w)", TEXT)))


@functools.lru_cache(maxsize=None)
def _help(tool):
    r = subprocess.run([str(BIN / tool), "--help"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, f"{tool} --help failed: {r.stderr}"
    return r.stdout


def _help_flags(tool):
    return set(re.findall(r"^\s+(--?[A-Za-z0-9][\w.-]*)", _help(tool), re.M))


def _tools():
    return sorted(p.name for p in BIN.glob("mixir-*") if os.access(p, os.X_OK))


@pytest.mark.parametrize("word", _tool_words())
def test_tool_exists(word):
    _build_tree()
    if word in NOT_TOOLS:
        path, needle = NOT_TOOLS[word]
        assert (REPO / path).exists() and (needle is None or _contains(path, needle))
        return
    if (BIN / word).exists():
        return
    assert f"--{word}" in _help_flags("mixir-opt"), \
        f"{word} is neither a tool in {BIN} nor a pipeline or pass of mixir-opt"


# Commands whose flags are not MixIR's to check.
EXTERNAL = {"apt-get", "bash", "cmake", "env", "g++", "make", "pip", "pkg-config",
            "python3", "git", "ldd", "sudo"}


def _flag_owner(tok):
    """What a flag after `tok` belongs to: ("tool", name), ("file", repo path),
    ("external", None), or None when tok is an argument."""
    base = tok.rsplit("/", 1)[-1]
    if re.fullmatch(r"mixir-[a-z-]+", base) and base not in NOT_TOOLS:
        return ("tool", base)
    if tok.startswith("build/bin/") or (REPO / f"examples/embed/{base}.cpp").exists():
        return ("file", f"examples/embed/{base}.cpp")  # its source lists its flags
    if re.search(r"\.(py|sh)$", tok) and (REPO / tok).exists():
        return ("file", tok)
    if tok in ("run.sh", "build/gpu-bundle/run.sh"):  # make_bundle.py copies it
        return ("file", "bench/gpu/bundle_run.sh")
    if tok == "mixir.stablehlo":
        return ("file", "python/mixir/stablehlo.py")
    if base in EXTERNAL:
        return ("external", None)
    return None


def _flag_uses():
    """(owner, flag, where) for each --flag in a code span or sh/cmake block;
    owner None: a span of flags alone (checked against every tool)."""
    uses = {}
    texts = [(s, "span") for s in SPANS]
    texts += [(b[2], f"line {b[1]}") for b in BLOCKS if b[0] in ("sh", "")]
    for text, where in texts:
        for toks in _commands(text):
            owner = None
            for t in toks:
                if t == "-m":
                    continue
                found = _flag_owner(t)
                if found:
                    owner = found
                elif re.match(r"--[A-Za-z]", t) and owner != ("external", None):
                    uses.setdefault((owner, t.split("=", 1)[0]), where)
    return sorted(((o, f, w) for (o, f), w in uses.items()),
                  key=lambda u: (str(u[0]), u[1]))


def _flag_id(use):
    owner, flag, _ = use
    return f"{owner[1] if owner else 'any-tool'}{flag}"


@pytest.mark.parametrize("use", _flag_uses(), ids=_flag_id)
def test_flag_exists(use):
    _build_tree()
    owner, flag, where = use
    if owner is None:
        known = set().union(*(_help_flags(t) for t in _tools()))
        assert flag in known, f"{flag} is an option of no tool in {BIN}"
    elif owner[0] == "tool":
        assert (BIN / owner[1]).exists(), f"no tool {owner[1]}"
        assert flag in _help_flags(owner[1]), \
            f"{owner[1]} --help has no {flag} (README {where})"
    else:
        path = REPO / owner[1]
        assert path.exists(), f"{owner[1]} does not exist"
        assert flag in path.read_text(), f"{owner[1]} takes no {flag}"


def _python_names():
    return sorted(set(re.findall(r"(?<![\w./-])(mixir(?:\.[A-Za-z_]\w*)+)", TEXT)))


def _resolve(dotted):
    parts = dotted.split(".")
    obj = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(".".join(parts[:i + 1]))
    return obj


@pytest.mark.parametrize("name", _python_names())
def test_python_name_resolves(name):
    try:
        _resolve(name)
    except ImportError as e:
        if e.name and e.name.split(".")[0] in ("jax", "jaxlib"):
            need(e.name.split(".")[0])
        raise


def _signatures():
    """(dotted name, [(param, default text or None)]) of `mixir.f(...)` spans.
    A span with `...` is a call, not a signature: its values are not defaults."""
    out = []
    for span in SPANS:
        m = re.fullmatch(r"(mixir(?:\.\w+)+)\((.*)\)", span)
        if not m:
            continue
        params = []
        for p in re.split(r",\s*(?![^()]*\))", m.group(2)):
            p = p.strip()
            if not p or p in ("...", "*", "/"):
                continue
            name, _, default = p.partition("=")
            if "..." in m.group(2):
                default = ""
            params.append((name.strip().lstrip("*"), default.strip() or None))
        out.append((m.group(1), params))
    return out


@pytest.mark.parametrize("sig", _signatures(), ids=lambda s: s[0])
def test_python_signature_matches(sig):
    name, params = sig
    actual = inspect.signature(_resolve(name)).parameters
    for p, default in params:
        assert p in actual, f"{name} has no parameter {p!r} (has {list(actual)})"
        if default is None:
            continue
        try:
            written = ast.literal_eval(default)
        except ValueError:
            continue
        assert actual[p].default == written, \
            f"{name}: {p} defaults to {actual[p].default!r}, README says {default}"


def _make_uses():
    """Targets and variables of the `make ...` commands in spans and blocks."""
    targets, variables = set(), set()
    for text in SPANS + [b[2] for b in BLOCKS if b[0] in ("sh", "")]:
        for toks in _commands(text):
            if toks[0] != "make":
                continue
            for t in toks[1:]:
                if re.fullmatch(r"[A-Z_]+=.*", t):
                    variables.add(t.split("=", 1)[0])
                elif re.fullmatch(r"[a-z][\w-]*", t):
                    targets.add(t)
    return sorted(targets), sorted(variables)


@pytest.mark.parametrize("target", _make_uses()[0])
def test_make_target_exists(target):
    makefile = (REPO / "Makefile").read_text()
    assert re.search(rf"^{re.escape(target)}:", makefile, re.M), \
        f"the Makefile has no target {target!r}"


@pytest.mark.parametrize("variable", _make_uses()[1])
def test_make_variable_exists(variable):
    makefile = (REPO / "Makefile").read_text()
    assert re.search(rf"^{variable} \?=", makefile, re.M), \
        f"the Makefile has no variable {variable!r}"


# Paths that are not in the repository or the build tree, and the file that
# says they are made (prefix match).
GENERATED = {
    "build-pip/": ("pyproject.toml", 'build-dir = "build-pip"'),
    "build-fuzz/": ("scripts/run_fuzzers.sh", "$repo/build-fuzz"),
    "build-asan/": ("scripts/run_asan_tests.sh", "$ROOT/build-asan"),
    "build/wheels/": ("bench/gpu/fetch_wheels.sh", "/wheels"),
    "build/gpu-bundle/": ("bench/gpu/make_bundle.py", '"gpu-bundle"'),
    "build/import_real_cache/": ("test/python/import_real/hf_export.py",
                                 "import_real_cache"),
    "site-packages/mixir/": ("cmake/MixIRInstall.cmake", "site-packages/mixir/"),
    "bin/": ("cmake/MixIRInstall.cmake", "the environment's bin/"),
}
# An install prefix: P/x must be a path cmake/MixIRInstall.cmake installs.
PREFIX = "P/"
# Directories #include paths are relative to.
INCLUDE_DIRS = ("include", "runtime/include")
FILE_SUFFIXES = (".py", ".cpp", ".h", ".hpp", ".mlir", ".test", ".md", ".sh",
                 ".toml", ".txt", ".cmake", ".in", ".td")


def _paths():
    """Path-like words of the code spans, and those with a `/` in sh blocks
    (a bare name there is usually a file the block writes)."""
    found = set()
    texts = [(s, True) for s in SPANS]
    texts += [(b[2], False) for b in BLOCKS if b[0] == "sh"]
    for text, bare_too in texts:
        for tok in text.split():
            tok = tok.strip("()[],;:'\"").rstrip(".")
            if not tok or re.search(r"[$~<>|=*{}]|://", tok.replace("*.", "")):
                continue
            if tok.startswith("/") or tok.startswith("-"):
                continue
            if "/" in tok:
                last = tok.rstrip("/").rsplit("/", 1)[-1]
                if tok.endswith("/") or re.search(r"\.\w+$", last) \
                        or tok.startswith(("build/bin/", PREFIX)):
                    found.add(tok)
            elif bare_too and tok.endswith(FILE_SUFFIXES) and \
                    re.fullmatch(r"[\w-]+(\.\w+)+", tok) and not \
                    re.fullmatch(r"[A-Z_]+\.\w+", tok):  # not IN.mlir
                found.add(tok)
    return sorted(found)


def _exists(tok):
    if tok.startswith(PREFIX):
        rel = tok[len(PREFIX):].rstrip("/")
        return _contains("cmake/MixIRInstall.cmake", rel)
    for prefix, (path, needle) in GENERATED.items():
        if tok.startswith(prefix):
            return _contains(path, needle)
    if tok.startswith("build/"):
        return bool(glob.glob(str(BUILD / tok[len("build/"):])))
    if "/" not in tok:  # a bare file name: somewhere in the tree
        return any(REPO.glob(f"[!.]*/**/{tok}")) or (REPO / tok).exists()
    return any(glob.glob(str(base / tok)) for base in
               (REPO, *(REPO / d for d in INCLUDE_DIRS)))


@pytest.mark.parametrize("path", _paths())
def test_path_exists(path):
    assert _exists(path), f"`{path}` names nothing in {REPO} or {BUILD}"


def _test_functions():
    return sorted({s for s in SPANS if re.fullmatch(r"test_\w+", s)})


@pytest.mark.parametrize("name", _test_functions())
def test_named_test_exists(name):
    hits = [p for p in (REPO / "test" / "python").rglob("*.py")
            if re.search(rf"^def {name}\(", p.read_text(), re.M)]
    assert hits, f"no test function {name} under test/python"


def _links():
    return sorted(set(re.findall(r"\]\(([^)\s]+)\)", PROSE)))


@pytest.mark.parametrize("link", _links())
def test_link_stays_in_the_repository(link):
    target, _, anchor = link.partition("#")
    assert not re.match(r"[a-z]+:", target), f"{link} points outside the repository"
    path = (README.parent / target) if target else README
    assert path.resolve().is_relative_to(REPO) and path.exists(), f"{link}: no {path}"
    if anchor:
        slugs = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
                 for h in re.findall(r"^#+ (.*)$", path.read_text(), re.M)}
        assert anchor in slugs, f"{link}: no heading with anchor #{anchor}"


def test_no_outside_references():
    assert not re.search(r"https?://|www\.", TEXT), "the README links outside the repository"
    assert "shared/docs" not in TEXT and "../" not in TEXT


def test_every_block_is_seen():
    """The parser found every fence (an unclosed one would swallow the rest)."""
    assert sum(1 for line in LINES if line.startswith("```")) == 2 * len(BLOCKS)
    assert shutil.which("g++"), "the C++ examples need g++"
