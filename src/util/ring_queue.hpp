#pragma once
// A FIFO on one growable ring buffer that owns no memory while it is empty. A session's in-flight window and
// queue are empty for most clients most of the time, and libstdc++'s std::deque allocates about 0.5 KiB as
// soon as it is constructed. push_back and pop_front are amortized O(1); erase moves the elements on the
// shorter side of the hole, as std::deque does. Not thread-safe.
#include <cstddef>
#include <iterator>
#include <memory>
#include <type_traits>
#include <utility>

namespace starling {

template <class T>
class RingQueue {
    template <bool Const>
    class Iter;

  public:
    using value_type = T;
    using iterator = Iter<false>;
    using const_iterator = Iter<true>;

    RingQueue() = default;
    RingQueue(RingQueue&& o) noexcept
        : slots_(std::exchange(o.slots_, nullptr)),
          capacity_(std::exchange(o.capacity_, 0)),
          head_(std::exchange(o.head_, 0)),
          size_(std::exchange(o.size_, 0)) {}
    RingQueue& operator=(RingQueue&& o) noexcept {
        if (this != &o) {
            clear();
            slots_ = std::exchange(o.slots_, nullptr);
            capacity_ = std::exchange(o.capacity_, 0);
            head_ = std::exchange(o.head_, 0);
            size_ = std::exchange(o.size_, 0);
        }
        return *this;
    }
    RingQueue(const RingQueue&) = delete;
    RingQueue& operator=(const RingQueue&) = delete;
    ~RingQueue() { clear(); }

    bool empty() const { return size_ == 0; }
    size_t size() const { return size_; }
    size_t capacity() const { return capacity_; }

    // The i-th element from the front (i < size()).
    T& at(size_t i) { return slots_[wrap(head_ + i)]; }
    const T& at(size_t i) const { return slots_[wrap(head_ + i)]; }
    T& front() { return at(0); }
    const T& front() const { return at(0); }
    T& back() { return at(size_ - 1); }
    const T& back() const { return at(size_ - 1); }

    void push_back(T value) {
        if (size_ == capacity_) grow();
        std::construct_at(&slots_[wrap(head_ + size_)], std::move(value));
        ++size_;
    }

    void pop_front() {
        std::destroy_at(&at(0));
        head_ = wrap(head_ + 1);
        if (--size_ == 0) release();
    }

    // Returns the iterator to the element after the erased one.
    iterator erase(iterator it) {
        size_t i = it.index_;
        if (i < size_ / 2) {
            for (size_t j = i; j > 0; --j)
                at(j) = std::move(at(j - 1));
            pop_front();
            return iterator(this, i);
        }
        for (size_t j = i; j + 1 < size_; ++j)
            at(j) = std::move(at(j + 1));
        std::destroy_at(&at(size_ - 1));
        if (--size_ == 0) release();
        return iterator(this, i);
    }

    void clear() {
        for (size_t i = 0; i < size_; ++i)
            std::destroy_at(&at(i));
        size_ = 0;
        release();
    }

    iterator begin() { return iterator(this, 0); }
    iterator end() { return iterator(this, size_); }
    const_iterator begin() const { return const_iterator(this, 0); }
    const_iterator end() const { return const_iterator(this, size_); }

  private:
    // Capacity is a power of two, so that wrapping an index is a mask.
    size_t wrap(size_t i) const { return i & (capacity_ - 1); }

    void grow() {
        size_t capacity = capacity_ ? capacity_ * 2 : 2;
        T* slots = std::allocator<T>().allocate(capacity);
        for (size_t i = 0; i < size_; ++i) {
            std::construct_at(&slots[i], std::move(at(i)));
            std::destroy_at(&at(i));
        }
        if (slots_) std::allocator<T>().deallocate(slots_, capacity_);
        slots_ = slots;
        capacity_ = capacity;
        head_ = 0;
    }

    // The queue is empty: give its memory back.
    void release() {
        if (slots_) std::allocator<T>().deallocate(slots_, capacity_);
        slots_ = nullptr;
        capacity_ = 0;
        head_ = 0;
    }

    template <bool Const>
    class Iter {
        using Queue = std::conditional_t<Const, const RingQueue, RingQueue>;

      public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using pointer = std::conditional_t<Const, const T*, T*>;
        using reference = std::conditional_t<Const, const T&, T&>;

        Iter() = default;
        reference operator*() const { return q_->at(index_); }
        pointer operator->() const { return &q_->at(index_); }
        Iter& operator++() {
            ++index_;
            return *this;
        }
        Iter operator++(int) {
            Iter old = *this;
            ++index_;
            return old;
        }
        bool operator==(const Iter& o) const { return index_ == o.index_; }

      private:
        friend class RingQueue;
        Iter(Queue* q, size_t index) : q_(q), index_(index) {}
        Queue* q_ = nullptr;
        size_t index_ = 0;
    };

    T* slots_ = nullptr;
    size_t capacity_ = 0;
    size_t head_ = 0;
    size_t size_ = 0;
};

}  // namespace starling
