// A byte buffer for secrets (PINs, VERIFY APDUs): fixed capacity so it never reallocates and
// leaves copies behind, wiped with secure_wipe (which the optimiser cannot drop) when it
// is cleared or destroyed. Not copyable; movable.
#pragma once

#include <cstddef>
#include <cstdint>

namespace jpki {

class SecureBuffer {
public:
    static constexpr std::size_t kCapacity = 64;  // longest secret: a 16-char PIN in an APDU

    SecureBuffer() noexcept = default;
    SecureBuffer(const std::uint8_t* data, std::size_t len);  // throws std::length_error
    ~SecureBuffer();
    SecureBuffer(const SecureBuffer&) = delete;
    SecureBuffer& operator=(const SecureBuffer&) = delete;
    SecureBuffer(SecureBuffer&& other) noexcept;
    SecureBuffer& operator=(SecureBuffer&& other) noexcept;

    // Appends bytes; throws std::length_error past kCapacity (never reallocates).
    void append(const std::uint8_t* data, std::size_t len);
    void push_back(std::uint8_t b) { append(&b, 1); }
    // Wipes the contents and makes the buffer empty.
    void clear() noexcept;

    const std::uint8_t* data() const noexcept { return data_; }
    std::uint8_t* data() noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    std::uint8_t operator[](std::size_t i) const noexcept { return data_[i]; }
    std::uint8_t& operator[](std::size_t i) noexcept { return data_[i]; }

private:
    std::uint8_t data_[kCapacity] = {};
    std::size_t size_ = 0;
};

}  // namespace jpki
