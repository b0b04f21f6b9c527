#include "common/secure_buffer.h"

#include <cstring>
#include <stdexcept>
#include <utility>

namespace jpki {

SecureBuffer::SecureBuffer(const std::uint8_t* data, std::size_t len) { append(data, len); }

SecureBuffer::~SecureBuffer() { clear(); }

SecureBuffer::SecureBuffer(SecureBuffer&& other) noexcept : cell_(std::exchange(other.cell_, nullptr)) {}

SecureBuffer& SecureBuffer::operator=(SecureBuffer&& other) noexcept {
    if (this != &other) {
        clear();
        cell_ = std::exchange(other.cell_, nullptr);
    }
    return *this;
}

void SecureBuffer::append(const std::uint8_t* data, std::size_t len) {
    if (len > kCapacity - size()) throw std::length_error("secret longer than the secure buffer");
    if (!len) return;
    if (!cell_) cell_ = vault::acquire();
    std::memcpy(cell_->bytes + cell_->size, data, len);
    cell_->size += len;
}

void SecureBuffer::clear() noexcept {
    vault::release(cell_);
    cell_ = nullptr;
}

}  // namespace jpki
