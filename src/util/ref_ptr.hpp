#pragma once
// Intrusive reference counting for objects shared across workers (the refcounted `Message` of fan-out).
// The count is atomic; the object itself must be immutable once shared.
#include <atomic>
#include <cstdint>
#include <utility>

namespace starling {

class RefCounted {
  public:
    RefCounted() = default;
    RefCounted(const RefCounted&) = delete;
    RefCounted& operator=(const RefCounted&) = delete;

    void addRef() const { refs_.fetch_add(1, std::memory_order_relaxed); }
    // True when this was the last reference.
    bool release() const { return refs_.fetch_sub(1, std::memory_order_acq_rel) == 1; }

  private:
    mutable std::atomic<uint32_t> refs_{0};
};

// T derives from RefCounted and has `static void destroy(const T*)` releasing its storage.
template <class T>
class RefPtr {
  public:
    RefPtr() = default;
    explicit RefPtr(T* p) : p_(p) {
        if (p_) p_->addRef();
    }
    RefPtr(const RefPtr& o) : p_(o.p_) {
        if (p_) p_->addRef();
    }
    RefPtr(RefPtr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    RefPtr& operator=(RefPtr o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    ~RefPtr() { reset(); }

    void reset() {
        if (p_ && p_->release()) T::destroy(p_);
        p_ = nullptr;
    }
    T* get() const { return p_; }
    T* operator->() const { return p_; }
    T& operator*() const { return *p_; }
    explicit operator bool() const { return p_ != nullptr; }
    bool operator==(const RefPtr& o) const { return p_ == o.p_; }

  private:
    T* p_ = nullptr;
};

}  // namespace starling
