// Runs a function when a scope is left, however it is left (return or exception).
#pragma once

#include <utility>

namespace jpki {

template <typename F>
class ScopeExit {
public:
    explicit ScopeExit(F f) : f_(std::move(f)) {}
    ~ScopeExit() { f_(); }
    ScopeExit(const ScopeExit&) = delete;
    ScopeExit& operator=(const ScopeExit&) = delete;

private:
    F f_;
};

template <typename F>
ScopeExit(F) -> ScopeExit<F>;

}  // namespace jpki
