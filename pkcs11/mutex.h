// Locks as CK_C_INITIALIZE_ARGS asks for them: the application's mutex callbacks when it gives
// them without CKF_OS_LOCKING_OK, otherwise native mutexes. BasicLockable, so std::lock_guard
// and std::unique_lock work with it.
#pragma once

#include "pkcs11/pkcs11.h"

#include <memory>
#include <mutex>

namespace jpki::p11 {

class Mutex {
public:
    virtual ~Mutex() = default;
    virtual void lock() = 0;
    virtual void unlock() = 0;
};

class MutexFactory {
public:
    // Native mutexes.
    MutexFactory() = default;
    // The application's callbacks (all four non-null).
    explicit MutexFactory(const CK_C_INITIALIZE_ARGS& args);
    std::unique_ptr<Mutex> make() const;
    bool uses_callbacks() const { return callbacks_; }

private:
    bool callbacks_ = false;
    CK_C_INITIALIZE_ARGS args_{};
};

}  // namespace jpki::p11
