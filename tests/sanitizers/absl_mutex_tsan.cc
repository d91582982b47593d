// TSan annotations for Debian's prebuilt absl::Mutex (and Notification,
// BlockingCounter), LD_PRELOADed by
// scripts/sanitize.sh into the ThreadSanitizer run (never linked into anything).
//
// Why: libabsl_synchronization.so is not built with -fsanitize=thread, so its
// ABSL_TSAN_MUTEX_* annotations are compiled out and its lock is made of atomics and
// futex calls TSan cannot see. Without this file every field guarded by an
// absl::Mutex in our code is reported as a data race (both accesses under the lock).
// Suppressing those reports would hide real races in our code, so instead each entry
// point below is interposed (the preloaded definition wins over the library's, for
// our calls and for absl's own PLT calls such as Notification's), tells TSan what the
// real function does with the __tsan_mutex_* interface (the calls an instrumented
// absl makes itself), and calls the real one (dlsym RTLD_NEXT). Work inside the real
// function (including Condition evaluation) is ignored between pre_* and post_*.
// Names are the Itanium-mangled absl::debian3 symbols of Debian bookworm's
// libabsl 20220623 (`nm -D libabsl_synchronization.so`); a missing one aborts.
#include <dlfcn.h>
#include <link.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

extern "C" {
void __tsan_mutex_destroy(void* addr, unsigned flags);
void __tsan_mutex_pre_lock(void* addr, unsigned flags);
void __tsan_mutex_post_lock(void* addr, unsigned flags, int recursion);
int __tsan_mutex_pre_unlock(void* addr, unsigned flags);
void __tsan_mutex_post_unlock(void* addr, unsigned flags);
void __tsan_acquire(void* addr);
void __tsan_release(void* addr);
}

namespace {

// From <sanitizer/tsan_interface.h>.
constexpr unsigned kReadLock = 1 << 3;
constexpr unsigned kTryLock = 1 << 4;
constexpr unsigned kTryLockFailed = 1 << 5;

// absl::Duration and absl::Time: one int64 and one uint32, passed by value in two
// registers; only forwarded.
struct Duration {
  int64_t hi;
  uint32_t lo;
};

// Load address of the module holding `address` (0 if none).
uintptr_t ModuleBase(const void* address) {
  Dl_info info;
  return dladdr(address, &info) != 0 ? reinterpret_cast<uintptr_t>(info.dli_fbase) : 0;
}

int FirstModule(struct dl_phdr_info* info, size_t, void* out) {
  *static_cast<uintptr_t*>(out) = info->dlpi_addr;  // the main program comes first
  return 1;
}

// Only calls from the instrumented test binary are annotated (absl's own calls, e.g.
// gRPC's ReleasableMutexLock::Release, are not; Notification is handled below). gRPC core (libgrpc.so) locks absl::Mutexes too, but
// the rest of its synchronisation (refcounts, atomics) is invisible to TSan; its
// locks annotated alone would make its object lifetimes look racy. So gRPC stays a
// black box, as every other uninstrumented library.
bool CalledFromInstrumented(const void* return_address) {
  static const uintptr_t program = [] {
    uintptr_t base = 0;
    dl_iterate_phdr(FirstModule, &base);
    return base;
  }();
  return ModuleBase(return_address) == program;
}

// absl calls itself through the PLT too (AwaitWithTimeout -> AwaitWithDeadline,
// Notification -> LockWhen ...): only the outermost interposed call on a thread
// annotates, the inner ones just forward.
thread_local int depth = 0;
struct Outer {
  explicit Outer(const void* return_address)
      : annotate(depth++ == 0 && CalledFromInstrumented(return_address)) {}
  ~Outer() { --depth; }
  const bool annotate;
};

template <typename F>
F Real(const char* name) {
  void* f = dlsym(RTLD_NEXT, name);
  if (f == nullptr) {
    std::fprintf(stderr, "absl_mutex_tsan: %s not found\n", name);
    std::abort();
  }
  return reinterpret_cast<F>(f);
}

void Lock(void* mu, unsigned flags) { __tsan_mutex_pre_lock(mu, flags); }
void Locked(void* mu, unsigned flags) { __tsan_mutex_post_lock(mu, flags, 0); }

// Await / CondVar::Wait release the lock while waiting and hold it again on return.
void Release(void* mu, unsigned flags) { __tsan_mutex_pre_unlock(mu, flags); }
void Reacquire(void* mu, unsigned flags) {
  __tsan_mutex_post_unlock(mu, flags);
  __tsan_mutex_pre_lock(mu, flags);
  __tsan_mutex_post_lock(mu, flags, 0);
}

}  // namespace

// Declares `real` (the library's function) and `outer` (annotate or not).
#define EXPLAINER_REAL(type, symbol)                     \
  static const auto real = Real<type>(#symbol);          \
  const Outer outer(__builtin_return_address(0))
// For Notification and BlockingCounter: the Mutex calls they make inside are
// annotated as usual, so they take no part in the depth count.
#define EXPLAINER_REAL_ONLY(type, symbol) \
  static const auto real = Real<type>(#symbol)


extern "C" {

// Mutex::Lock(), Unlock(), TryLock() and the reader forms.
void _ZN4absl7debian35Mutex4LockEv(void* mu) {
  EXPLAINER_REAL(void (*)(void*), _ZN4absl7debian35Mutex4LockEv);
  if (outer.annotate) Lock(mu, 0);
  real(mu);
  if (outer.annotate) Locked(mu, 0);
}
void _ZN4absl7debian35Mutex10ReaderLockEv(void* mu) {
  EXPLAINER_REAL(void (*)(void*), _ZN4absl7debian35Mutex10ReaderLockEv);
  if (outer.annotate) Lock(mu, kReadLock);
  real(mu);
  if (outer.annotate) Locked(mu, kReadLock);
}
void _ZN4absl7debian35Mutex6UnlockEv(void* mu) {
  EXPLAINER_REAL(void (*)(void*), _ZN4absl7debian35Mutex6UnlockEv);
  if (outer.annotate) __tsan_mutex_pre_unlock(mu, 0);
  real(mu);
  if (outer.annotate) __tsan_mutex_post_unlock(mu, 0);
}
void _ZN4absl7debian35Mutex12ReaderUnlockEv(void* mu) {
  EXPLAINER_REAL(void (*)(void*), _ZN4absl7debian35Mutex12ReaderUnlockEv);
  if (outer.annotate) __tsan_mutex_pre_unlock(mu, kReadLock);
  real(mu);
  if (outer.annotate) __tsan_mutex_post_unlock(mu, kReadLock);
}
bool _ZN4absl7debian35Mutex7TryLockEv(void* mu) {
  EXPLAINER_REAL(bool (*)(void*), _ZN4absl7debian35Mutex7TryLockEv);
  if (outer.annotate) __tsan_mutex_pre_lock(mu, kTryLock);
  const bool ok = real(mu);
  if (outer.annotate) __tsan_mutex_post_lock(mu, kTryLock | (ok ? 0 : kTryLockFailed), 0);
  return ok;
}
bool _ZN4absl7debian35Mutex13ReaderTryLockEv(void* mu) {
  EXPLAINER_REAL(bool (*)(void*), _ZN4absl7debian35Mutex13ReaderTryLockEv);
  if (outer.annotate) __tsan_mutex_pre_lock(mu, kTryLock | kReadLock);
  const bool ok = real(mu);
  if (outer.annotate) __tsan_mutex_post_lock(mu, kTryLock | kReadLock | (ok ? 0 : kTryLockFailed), 0);
  return ok;
}

// LockWhen*: a lock (the condition is evaluated inside, ignored). The timed forms
// return the condition's value but always hold the lock on return.
void _ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE(void* mu, const void* cond) {
  EXPLAINER_REAL(void (*)(void*, const void*), _ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE);
  if (outer.annotate) Lock(mu, 0);
  real(mu, cond);
  if (outer.annotate) Locked(mu, 0);
}
void _ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE(void* mu, const void* cond) {
  EXPLAINER_REAL(void (*)(void*, const void*),
                 _ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE);
  if (outer.annotate) Lock(mu, kReadLock);
  real(mu, cond);
  if (outer.annotate) Locked(mu, kReadLock);
}
bool _ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    void* mu, const void* cond, Duration d) {
  EXPLAINER_REAL(bool (*)(void*, const void*, Duration),
                 _ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE);
  if (outer.annotate) Lock(mu, 0);
  const bool ok = real(mu, cond, d);
  if (outer.annotate) Locked(mu, 0);
  return ok;
}
bool _ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    void* mu, const void* cond, Duration t) {
  EXPLAINER_REAL(bool (*)(void*, const void*, Duration),
                 _ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE);
  if (outer.annotate) Lock(mu, 0);
  const bool ok = real(mu, cond, t);
  if (outer.annotate) Locked(mu, 0);
  return ok;
}
bool _ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    void* mu, const void* cond, Duration d) {
  EXPLAINER_REAL(
      bool (*)(void*, const void*, Duration),
      _ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE);
  if (outer.annotate) Lock(mu, kReadLock);
  const bool ok = real(mu, cond, d);
  if (outer.annotate) Locked(mu, kReadLock);
  return ok;
}
bool _ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    void* mu, const void* cond, Duration t) {
  EXPLAINER_REAL(
      bool (*)(void*, const void*, Duration),
      _ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE);
  if (outer.annotate) Lock(mu, kReadLock);
  const bool ok = real(mu, cond, t);
  if (outer.annotate) Locked(mu, kReadLock);
  return ok;
}

// Await* and CondVar::Wait*: called with the lock held; release, wait, reacquire.
void _ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE(void* mu, const void* cond) {
  EXPLAINER_REAL(void (*)(void*, const void*), _ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE);
  if (outer.annotate) Release(mu, 0);
  real(mu, cond);
  if (outer.annotate) Reacquire(mu, 0);
}
bool _ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE(
    void* mu, const void* cond, Duration d) {
  EXPLAINER_REAL(bool (*)(void*, const void*, Duration),
                 _ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE);
  if (outer.annotate) Release(mu, 0);
  const bool ok = real(mu, cond, d);
  if (outer.annotate) Reacquire(mu, 0);
  return ok;
}
bool _ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE(
    void* mu, const void* cond, Duration t) {
  EXPLAINER_REAL(bool (*)(void*, const void*, Duration),
                 _ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE);
  if (outer.annotate) Release(mu, 0);
  const bool ok = real(mu, cond, t);
  if (outer.annotate) Reacquire(mu, 0);
  return ok;
}
void _ZN4absl7debian37CondVar4WaitEPNS0_5MutexE(void* cv, void* mu) {
  EXPLAINER_REAL(void (*)(void*, void*), _ZN4absl7debian37CondVar4WaitEPNS0_5MutexE);
  if (outer.annotate) Release(mu, 0);
  real(cv, mu);
  if (outer.annotate) Reacquire(mu, 0);
}
bool _ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE(void* cv, void* mu,
                                                                       Duration d) {
  EXPLAINER_REAL(bool (*)(void*, void*, Duration),
                 _ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE);
  if (outer.annotate) Release(mu, 0);
  const bool ok = real(cv, mu, d);
  if (outer.annotate) Reacquire(mu, 0);
  return ok;
}
bool _ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE(void* cv, void* mu,
                                                                    Duration t) {
  EXPLAINER_REAL(bool (*)(void*, void*, Duration),
                 _ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE);
  if (outer.annotate) Release(mu, 0);
  const bool ok = real(cv, mu, t);
  if (outer.annotate) Reacquire(mu, 0);
  return ok;
}

// ~Mutex: the memory may hold another mutex next.
void _ZN4absl7debian35MutexD1Ev(void* mu) {
  EXPLAINER_REAL(void (*)(void*), _ZN4absl7debian35MutexD1Ev);
  real(mu);
  if (outer.annotate) __tsan_mutex_destroy(mu, 0);
}
void _ZN4absl7debian35MutexD2Ev(void* mu) {
  EXPLAINER_REAL(void (*)(void*), _ZN4absl7debian35MutexD2Ev);
  real(mu);
  if (outer.annotate) __tsan_mutex_destroy(mu, 0);
}

// Notification: its flag is an atomic read and written inside the library, so the
// fast path (already notified: no mutex taken) has no edge TSan can see. Notify
// releases on the flag's address, a true HasBeenNotifiedInternal (every wait ends in
// it) and each wait that returns notified acquire there. The flag follows the one-word Mutex (notification.h).
void _ZN4absl7debian312Notification6NotifyEv(void* notification) {
  EXPLAINER_REAL_ONLY(void (*)(void*), _ZN4absl7debian312Notification6NotifyEv);
  __tsan_release(static_cast<char*>(notification) + sizeof(void*));
  real(notification);
}
bool _ZN4absl7debian312Notification23HasBeenNotifiedInternalEPKSt6atomicIbE(const void* flag) {
  EXPLAINER_REAL_ONLY(bool (*)(const void*),
                 _ZN4absl7debian312Notification23HasBeenNotifiedInternalEPKSt6atomicIbE);
  const bool notified = real(flag);
  if (notified) __tsan_acquire(const_cast<void*>(flag));
  return notified;
}

void _ZNK4absl7debian312Notification19WaitForNotificationEv(const void* notification) {
  EXPLAINER_REAL_ONLY(void (*)(const void*),
                      _ZNK4absl7debian312Notification19WaitForNotificationEv);
  real(notification);
  __tsan_acquire(const_cast<char*>(static_cast<const char*>(notification)) + sizeof(void*));
}
bool _ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE(
    const void* notification, Duration d) {
  EXPLAINER_REAL_ONLY(
      bool (*)(const void*, Duration),
      _ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE);
  const bool notified = real(notification, d);
  if (notified) {
    __tsan_acquire(const_cast<char*>(static_cast<const char*>(notification)) + sizeof(void*));
  }
  return notified;
}
bool _ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE(
    const void* notification, Duration t) {
  EXPLAINER_REAL_ONLY(
      bool (*)(const void*, Duration),
      _ZNK4absl7debian312Notification31WaitForNotificationWithDeadlineENS0_4TimeE);
  const bool notified = real(notification, t);
  if (notified) {
    __tsan_acquire(const_cast<char*>(static_cast<const char*>(notification)) + sizeof(void*));
  }
  return notified;
}

// BlockingCounter: the count is an uninstrumented atomic; each decrement releases,
// the wait acquires.
void _ZN4absl7debian315BlockingCounter14DecrementCountEv(void* counter) {
  EXPLAINER_REAL_ONLY(void (*)(void*), _ZN4absl7debian315BlockingCounter14DecrementCountEv);
  __tsan_release(counter);
  real(counter);
}
void _ZN4absl7debian315BlockingCounter4WaitEv(void* counter) {
  EXPLAINER_REAL_ONLY(void (*)(void*), _ZN4absl7debian315BlockingCounter4WaitEv);
  real(counter);
  __tsan_acquire(counter);
}

}  // extern "C"
