// Locks as CK_C_INITIALIZE_ARGS asks for them: the application's mutex callbacks when it gives
// them without CKF_OS_LOCKING_OK, otherwise native mutexes.
#pragma once

#include "common/mutex.h"
#include "pkcs11/pkcs11.h"

#include <memory>

namespace jpki::p11 {

using jpki::Mutex;

class MutexFactory {
public:
    // Native mutexes.
    MutexFactory() = default;
    // The application's callbacks (all four non-null).
    explicit MutexFactory(const CK_C_INITIALIZE_ARGS& args);
    std::unique_ptr<Mutex> make() const;
    // The same, for layers that take a MutexMaker.
    MutexMaker maker() const {
        return [f = *this] { return f.make(); };
    }
    bool uses_callbacks() const { return callbacks_; }

private:
    bool callbacks_ = false;
    CK_C_INITIALIZE_ARGS args_{};
};

}  // namespace jpki::p11
