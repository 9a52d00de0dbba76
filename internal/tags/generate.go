package tags

import (
	"fmt"
	"strings"
)

// Input describes a CPython interpreter as far as tag generation needs it.
// internal/interp fills it from a probe of the target interpreter.
type Input struct {
	Major, Minor int  // 3, 11
	Debug        bool // Py_DEBUG: "d" ABI flag
	GILDisabled  bool // Py_GIL_DISABLED (3.13+): "t" ABI flag
	Pymalloc     bool // WITH_PYMALLOC: "m" ABI flag, only used before 3.8

	// OS is "linux" for Linux; any other value makes Platform the only
	// platform tag (normalised), as packaging does for unknown systems.
	OS string
	// Platform is sysconfig.get_platform(), e.g. "linux-x86_64".
	Platform string
	// Arch is the architecture in the linux_<arch> tag, already adjusted
	// for a 32-bit interpreter on a 64-bit kernel: "x86_64", "i686",
	// "aarch64", "armv7l", "armv8l".
	Arch string

	// GlibcMajor and GlibcMinor are the glibc version the interpreter runs
	// with; zero when it is not linked against glibc.
	GlibcMajor, GlibcMinor int
	// MuslMajor and MuslMinor are the musl version; zero when not musl.
	MuslMajor, MuslMinor int
}

// manylinuxArchs are the architectures packaging emits manylinux tags for
// without inspecting the interpreter binary; i686 and armv7l are accepted
// too (packaging checks the ELF header of the interpreter for those, we
// trust the probe's architecture).
var manylinuxArchs = map[string]bool{
	"x86_64": true, "i686": true, "aarch64": true, "armv7l": true,
	"ppc64": true, "ppc64le": true, "s390x": true, "loongarch64": true, "riscv64": true,
}

// legacyManylinux names the pre-PEP 600 alias of a glibc version.
var legacyManylinux = map[[2]int]string{
	{2, 17}: "manylinux2014",
	{2, 12}: "manylinux2010",
	{2, 5}:  "manylinux1",
}

// lastGlibcMinor is the highest minor version assumed for an older glibc
// major version, should glibc ever move past 2.x.
const lastGlibcMinor = 50

// Platforms returns the platform tags of in, best first.
//
// On Linux the order is the one of packaging 26.3 and later: linux_<arch>
// first (a wheel built for this very system beats a portable one), then
// manylinux_<glibc major>_<minor>_<arch> from the running glibc down to 2.17
// (2.5 on x86_64 and i686), each followed by its legacy alias where one
// exists, then musllinux_<major>_<minor>_<arch> from the running musl down
// to minor 0. packaging 26.2 and earlier put linux_<arch> last. armv8l also
// accepts armv7l wheels.
func Platforms(in Input) []string {
	if in.OS != "linux" {
		return []string{normalize(in.Platform)}
	}
	archs := []string{in.Arch}
	if in.Arch == "armv8l" {
		archs = append(archs, "armv7l")
	}
	var out []string
	for _, a := range archs {
		out = append(out, "linux_"+a)
	}
	out = append(out, manylinuxPlatforms(in, archs)...)
	if in.MuslMajor > 0 {
		for _, a := range archs {
			for minor := in.MuslMinor; minor >= 0; minor-- {
				out = append(out, fmt.Sprintf("musllinux_%d_%d_%s", in.MuslMajor, minor, a))
			}
		}
	}
	return out
}

func manylinuxPlatforms(in Input, archs []string) []string {
	if in.GlibcMajor <= 0 {
		return nil
	}
	allowed := false
	for _, a := range archs {
		allowed = allowed || manylinuxArchs[a]
	}
	if !allowed {
		return nil
	}
	// The oldest glibc a manylinux tag can name: 2.17 everywhere, 2.5 on x86.
	oldestMinor := 17
	for _, a := range archs {
		if a == "x86_64" || a == "i686" {
			oldestMinor = 5
		}
	}
	var out []string
	for _, a := range archs {
		for major := in.GlibcMajor; major >= 2; major-- {
			top, bottom := lastGlibcMinor, 0
			if major == in.GlibcMajor {
				top = in.GlibcMinor
			}
			if major == 2 {
				bottom = oldestMinor
			}
			for minor := top; minor >= bottom; minor-- {
				out = append(out, fmt.Sprintf("manylinux_%d_%d_%s", major, minor, a))
				if legacy, ok := legacyManylinux[[2]int{major, minor}]; ok {
					out = append(out, legacy+"_"+a)
				}
			}
		}
	}
	return out
}

// normalize turns a sysconfig platform into a tag: "." "-" and " " become "_".
func normalize(s string) string {
	return strings.NewReplacer(".", "_", "-", "_", " ", "_").Replace(strings.ToLower(s))
}

// ABI returns the interpreter's most specific ABI tag, e.g. "cp311",
// "cp313t", "cp312d", "cp37m".
func ABI(in Input) string {
	abi := fmt.Sprintf("cp%d%d", in.Major, in.Minor)
	if in.GILDisabled && atLeast(in, 3, 13) {
		abi += "t"
	}
	if in.Debug {
		abi += "d"
	}
	if in.Pymalloc && !atLeast(in, 3, 8) {
		abi += "m"
	}
	return abi
}

func atLeast(in Input, major, minor int) bool {
	return in.Major > major || in.Major == major && in.Minor >= minor
}

// Generate returns every tag a CPython interpreter described by in accepts,
// best first, in the order of packaging.tags.sys_tags (packaging 26.3):
//
//  1. cpXY-<abi>-<plat> for the interpreter's ABI (cp311, cp313t, cp312d),
//     and for a debug build of 3.8+ also the same ABI without "d";
//  2. cpXY-abi3-<plat> (cpXY-abi3t-<plat> on a free-threaded build);
//  3. cpXY-none-<plat>;
//  4. cp3(Y-1)..cp32-abi3-<plat> (abi3t when free-threaded);
//  5. py3Y, py3, py3(Y-1)..py30 with none-<plat>;
//  6. cpXY-none-any;
//  7. py3Y, py3, py3(Y-1)..py30 with none-any.
//
// Within each step every platform of Platforms is listed in order.
func Generate(in Input) []Tag {
	plats := Platforms(in)
	interp := fmt.Sprintf("cp%d%d", in.Major, in.Minor)
	stable := "abi3"
	if in.GILDisabled && atLeast(in, 3, 13) {
		stable = "abi3t"
	}
	var out []Tag
	each := func(interp, abi string) {
		for _, p := range plats {
			out = append(out, Tag{Interpreter: interp, ABI: abi, Platform: p})
		}
	}

	abi := ABI(in)
	each(interp, abi)
	if in.Debug && atLeast(in, 3, 8) {
		each(interp, strings.TrimSuffix(abi, "d"))
	}
	useStable := atLeast(in, 3, 2)
	if useStable {
		each(interp, stable)
	}
	each(interp, "none")
	if useStable {
		for minor := in.Minor - 1; minor >= 2; minor-- {
			each(fmt.Sprintf("cp%d%d", in.Major, minor), stable)
		}
	}

	pys := pyRange(in)
	for _, py := range pys {
		each(py, "none")
	}
	out = append(out, Tag{Interpreter: interp, ABI: "none", Platform: "any"})
	for _, py := range pys {
		out = append(out, Tag{Interpreter: py, ABI: "none", Platform: "any"})
	}
	return out
}

// pyRange returns py3Y, py3, py3(Y-1) .. py30.
func pyRange(in Input) []string {
	out := []string{fmt.Sprintf("py%d%d", in.Major, in.Minor), fmt.Sprintf("py%d", in.Major)}
	for minor := in.Minor - 1; minor >= 0; minor-- {
		out = append(out, fmt.Sprintf("py%d%d", in.Major, minor))
	}
	return out
}
