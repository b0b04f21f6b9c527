// A byte buffer for secrets (PINs, PIN fingerprints, keys): its bytes live in a cell of the
// secret vault (common/secret_vault.h), so it never reallocates and leaves no copy behind,
// a move hands the cell over instead of copying it, and a forked child wipes them all at once.
// Wiped with secure_wipe (which the optimiser cannot drop) when cleared or destroyed.
// Not copyable; movable.
#pragma once

#include "common/secret_vault.h"

#include <cstddef>
#include <cstdint>

namespace jpki {

class SecureBuffer {
public:
    static constexpr std::size_t kCapacity = vault::kCellSize;

    SecureBuffer() noexcept = default;
    SecureBuffer(const std::uint8_t* data, std::size_t len);  // throws std::length_error
    ~SecureBuffer();
    SecureBuffer(const SecureBuffer&) = delete;
    SecureBuffer& operator=(const SecureBuffer&) = delete;
    SecureBuffer(SecureBuffer&& other) noexcept;
    SecureBuffer& operator=(SecureBuffer&& other) noexcept;

    // Appends bytes; throws std::length_error past kCapacity (never reallocates), and
    // std::bad_alloc when the vault is full.
    void append(const std::uint8_t* data, std::size_t len);
    void push_back(std::uint8_t b) { append(&b, 1); }
    // Wipes the contents and makes the buffer empty.
    void clear() noexcept;

    const std::uint8_t* data() const noexcept { return cell_ ? cell_->bytes : vault::zeros(); }
    std::size_t size() const noexcept { return cell_ ? cell_->size : 0; }
    bool empty() const noexcept { return size() == 0; }
    std::uint8_t operator[](std::size_t i) const noexcept { return data()[i]; }

private:
    vault::Cell* cell_ = nullptr;
};

}  // namespace jpki
