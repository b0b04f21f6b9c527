// Handling secrets in memory without OpenSSL: a wipe the optimiser cannot drop, and a
// comparison whose time does not depend on where two secrets differ.
#pragma once

#include <cstddef>
#include <cstdint>

namespace jpki {

void secure_wipe(void* data, std::size_t len) noexcept;
bool equal_in_constant_time(const std::uint8_t* a, const std::uint8_t* b, std::size_t len) noexcept;

}  // namespace jpki
