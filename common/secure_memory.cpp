#include "common/secure_memory.h"

#include <string.h>  // explicit_bzero (glibc)

namespace jpki {

void secure_wipe(void* data, std::size_t len) noexcept {
    if (data && len) explicit_bzero(data, len);
}

bool equal_in_constant_time(const std::uint8_t* a, const std::uint8_t* b, std::size_t len) noexcept {
    // volatile: the loop must not stop early at the first difference.
    volatile std::uint8_t diff = 0;
    for (std::size_t i = 0; i < len; ++i) diff = static_cast<std::uint8_t>(diff | (a[i] ^ b[i]));
    return diff == 0;
}

}  // namespace jpki
