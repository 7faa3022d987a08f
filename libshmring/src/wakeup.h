// Futex waits and wakes on words in the shared mapping (spec/PROTOCOL.md §7).
// Shared (not FUTEX_PRIVATE): waiters and wakers are in different processes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace shmring {

// Sleeps while *word == expected, at most `timeout`. Spurious returns are fine.
void FutexWait(std::atomic<uint32_t>& word, uint32_t expected, std::chrono::nanoseconds timeout);
// Wakes every waiter on `word`.
void FutexWakeAll(std::atomic<uint32_t>& word);

}  // namespace shmring
