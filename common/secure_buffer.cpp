#include "common/secure_buffer.h"

#include "common/secure_memory.h"

#include <cstring>
#include <stdexcept>

namespace jpki {

SecureBuffer::SecureBuffer(const std::uint8_t* data, std::size_t len) { append(data, len); }

SecureBuffer::~SecureBuffer() { clear(); }

SecureBuffer::SecureBuffer(SecureBuffer&& other) noexcept {
    std::memcpy(data_, other.data_, other.size_);
    size_ = other.size_;
    other.clear();
}

SecureBuffer& SecureBuffer::operator=(SecureBuffer&& other) noexcept {
    if (this != &other) {
        clear();
        std::memcpy(data_, other.data_, other.size_);
        size_ = other.size_;
        other.clear();
    }
    return *this;
}

void SecureBuffer::append(const std::uint8_t* data, std::size_t len) {
    if (len > kCapacity - size_) throw std::length_error("secret longer than the secure buffer");
    if (len) std::memcpy(data_ + size_, data, len);
    size_ += len;
}

void SecureBuffer::clear() noexcept {
    secure_wipe(data_, sizeof data_);
    size_ = 0;
}

}  // namespace jpki
