// Result<T, E>: a value or an error, for code built without exceptions.
//
// Errors are values in mqota (design rule): every fallible call returns a Result
// and the caller decides. The type is deliberately small: no heap, no RTTI, no
// exceptions, usable in constexpr, and it builds for a Cortex-M4.
//
//   Result<uint32_t, FlashError> r = ReadWord(...);
//   if (!r.ok()) return r.error();
//   use(*r);
//
// Result<void, E> carries only success or an error; `return {};` is success.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

namespace mqota {

template <typename T, typename E>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::remove_cv_t<T>, E>,
                "value and error types must differ, or construction is ambiguous");
  static_assert(std::is_trivially_copyable_v<E>, "errors are small plain values");

 public:
  constexpr Result(const T& value)
      : has_value_(true), value_(value) {}  // NOLINT(google-explicit-constructor)
  constexpr Result(T&& value)
      : has_value_(true), value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  constexpr Result(E error)
      : has_value_(false), error_(error) {}  // NOLINT(google-explicit-constructor)

  constexpr Result(const Result& other) : has_value_(other.has_value_) {
    if (has_value_) {
      std::construct_at(&value_, other.value_);
    } else {
      error_ = other.error_;
    }
  }
  constexpr Result(Result&& other) noexcept : has_value_(other.has_value_) {
    if (has_value_) {
      std::construct_at(&value_, std::move(other.value_));
    } else {
      error_ = other.error_;
    }
  }
  constexpr Result& operator=(const Result& other) {
    if (this != &other) {
      Reset();
      std::construct_at(this, other);
    }
    return *this;
  }
  constexpr Result& operator=(Result&& other) noexcept {
    if (this != &other) {
      Reset();
      std::construct_at(this, std::move(other));
    }
    return *this;
  }

  constexpr ~Result() { Reset(); }

  constexpr bool ok() const { return has_value_; }

  // Accessing the value of an error (or the error of a value) is a programming
  // mistake, not a data error: it traps.
  constexpr T& value() & { return CheckedValue(); }
  constexpr const T& value() const& { return const_cast<Result*>(this)->CheckedValue(); }
  constexpr T&& value() && { return std::move(CheckedValue()); }
  constexpr T& operator*() & { return CheckedValue(); }
  constexpr const T& operator*() const& { return const_cast<Result*>(this)->CheckedValue(); }
  constexpr T* operator->() { return &CheckedValue(); }
  constexpr const T* operator->() const { return &const_cast<Result*>(this)->CheckedValue(); }

  constexpr E error() const {
    if (has_value_) __builtin_trap();
    return error_;
  }

  // The value, or `fallback` when this holds an error.
  constexpr T value_or(T fallback) const& { return has_value_ ? value_ : fallback; }

 private:
  constexpr void Reset() {
    if constexpr (!std::is_trivially_destructible_v<T>) {
      if (has_value_) std::destroy_at(&value_);
    }
  }

  constexpr T& CheckedValue() {
    if (!has_value_) __builtin_trap();
    return value_;
  }

  bool has_value_;
  union {
    T value_;
    E error_;
  };
};

template <typename E>
class [[nodiscard]] Result<void, E> {
  static_assert(std::is_trivially_copyable_v<E>, "errors are small plain values");

 public:
  constexpr Result() = default;  // success
  constexpr Result(E error)
      : has_error_(true), error_(error) {}  // NOLINT(google-explicit-constructor)

  constexpr bool ok() const { return !has_error_; }
  constexpr E error() const {
    if (!has_error_) __builtin_trap();
    return error_;
  }

 private:
  bool has_error_ = false;
  E error_{};
};

}  // namespace mqota

// Propagates the error of `expr` (a Result) to the caller, whose own Result must
// be constructible from that error type.
#define MQOTA_TRY(expr)                                             \
  do {                                                              \
    if (auto mqota_try_result_ = (expr); !mqota_try_result_.ok()) { \
      return mqota_try_result_.error();                             \
    }                                                               \
  } while (false)

#define MQOTA_TRY_CONCAT_INNER_(a, b) a##b
#define MQOTA_TRY_CONCAT_(a, b) MQOTA_TRY_CONCAT_INNER_(a, b)

// `MQOTA_TRY_ASSIGN(auto x, Compute());` declares x from the value of the result
// of Compute(), or returns its error.
// `tmp` is a name the macro makes and `lhs` a declaration ("auto x"): neither
// may be parenthesised, so the check for unparenthesised arguments is off here.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define MQOTA_TRY_ASSIGN(lhs, expr) \
  MQOTA_TRY_ASSIGN_IMPL_(MQOTA_TRY_CONCAT_(mqota_try_assign_, __LINE__), lhs, expr)
#define MQOTA_TRY_ASSIGN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.error();           \
  lhs = std::move(*tmp)
// NOLINTEND(bugprone-macro-parentheses)
