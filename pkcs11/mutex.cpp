#include "pkcs11/mutex.h"

#include "pkcs11/pkcs11_error.h"

namespace jpki::p11 {

namespace {

class CallbackMutex : public Mutex {
public:
    explicit CallbackMutex(const CK_C_INITIALIZE_ARGS& args) : args_(args) {
        if (args_.CreateMutex(&handle_) != CKR_OK) throw Pkcs11Error(CKR_CANT_LOCK, "CreateMutex callback");
    }
    ~CallbackMutex() override { args_.DestroyMutex(handle_); }
    void lock() override {
        if (args_.LockMutex(handle_) != CKR_OK) throw Pkcs11Error(CKR_CANT_LOCK, "LockMutex callback");
    }
    void unlock() override { args_.UnlockMutex(handle_); }

private:
    CK_C_INITIALIZE_ARGS args_;
    void* handle_ = nullptr;
};

}  // namespace

MutexFactory::MutexFactory(const CK_C_INITIALIZE_ARGS& args) : callbacks_(true), args_(args) {}

std::unique_ptr<Mutex> MutexFactory::make() const {
    if (callbacks_) return std::make_unique<CallbackMutex>(args_);
    return make_native_mutex();
}

}  // namespace jpki::p11
