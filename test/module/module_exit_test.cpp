// A client may call the module from its own exit handlers, after the module's static
// destructors would have run (libp11's OpenSSL engine does). That must not crash: a use of
// destroyed state shows as a crash here, or for certain in the sanitizer build.
#include "test/module/module_fixture.h"

#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace {
CK_FUNCTION_LIST_PTR g_late = nullptr;

void call_module_late() {
    // Exit handlers run newest first: this one was registered before the module was loaded,
    // so it runs after the module's own exit-time destructors.
    g_late->C_CloseAllSessions(0);
    CK_ULONG n = 0;
    g_late->C_GetSlotList(CK_FALSE, nullptr, &n);
    g_late->C_Finalize(nullptr);
}
}  // namespace

TEST_CASE("module: calls from a client's exit handlers after the module's destructors do not crash", "[module]") {
    // A copy of the test module, so that this process loads a fresh instance of it.
    const std::string copy = "/tmp/jpki-exit-test-" + std::to_string(::getpid()) + ".so";
    std::filesystem::copy_file(jpki::test::module_path(), copy, std::filesystem::copy_options::overwrite_existing);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        std::atexit(call_module_late);
        // A separate copy, so its static objects are created (and registered) after atexit.
        void* h = dlopen(copy.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!h) _exit(10);
        auto get = reinterpret_cast<CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR)>(dlsym(h, "C_GetFunctionList"));
        if (!get || get(&g_late) != CKR_OK) _exit(11);
        if (g_late->C_Initialize(nullptr) != CKR_OK) _exit(12);
        std::exit(0);  // runs the module's destructors, then call_module_late
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    std::filesystem::remove(copy);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
