#include "common/trace.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace jpki {

namespace {
std::mutex g_trace_mutex;

const char* trace_target() {
    const char* v = std::getenv("JPKI_TRACE");
    return (v && *v && std::strcmp(v, "0") != 0) ? v : nullptr;
}
}  // namespace

bool trace_enabled() { return trace_target() != nullptr; }

void trace_line(const std::string& line) {
    const char* target = trace_target();
    if (!target) return;
    std::lock_guard<std::mutex> lock(g_trace_mutex);
    if (!std::strcmp(target, "1") || !std::strcmp(target, "stderr")) {
        std::fprintf(stderr, "jpki: %s\n", line.c_str());
        return;
    }
    if (FILE* f = std::fopen(target, "a")) {
        std::fprintf(f, "jpki: %s\n", line.c_str());
        std::fclose(f);
    }
}

}  // namespace jpki
