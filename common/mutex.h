// A lock that every layer takes through one interface, so the module can honour the mutex
// callbacks an application gives in CK_C_INITIALIZE_ARGS everywhere it locks: BasicLockable,
// so std::lock_guard, std::unique_lock and std::condition_variable_any work with it.
#pragma once

#include <functional>
#include <memory>
#include <mutex>

namespace jpki {

class Mutex {
public:
    virtual ~Mutex() = default;
    virtual void lock() = 0;
    virtual void unlock() = 0;
};

// A std::mutex behind the interface.
class NativeMutex : public Mutex {
public:
    void lock() override { m_.lock(); }
    void unlock() override { m_.unlock(); }

private:
    std::mutex m_;
};

// Makes the locks of a layer that does not decide which kind it gets.
using MutexMaker = std::function<std::unique_ptr<Mutex>()>;
inline std::unique_ptr<Mutex> make_native_mutex() { return std::make_unique<NativeMutex>(); }

}  // namespace jpki
