#include "storage/base/status.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace mgr {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.ToString(), "ok");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(StatusTest, ToStringNamesTheCodeThenTheMessage) {
  Status s = Status::InvalidArgument("stages[2].params.lr.low: must be > 0");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "stages[2].params.lr.low: must be > 0");
  EXPECT_EQ(s.ToString(), "invalid argument: stages[2].params.lr.low: must be > 0");
  EXPECT_EQ(Status::IoError("x").ToString(), "I/O error: x");
  EXPECT_EQ(Status::Busy("db").code(), StatusCode::kBusy);
  EXPECT_STREQ(StatusCodeName(StatusCode::kNotFound), "not found");
  EXPECT_STREQ(StatusCodeName(StatusCode::kInternal), "internal error");
}

TEST(StatusTest, WithContextPrefixesErrorsOnly) {
  EXPECT_EQ(Status::NotFound("trial 3").WithContext("study demo").message(), "study demo: trial 3");
  EXPECT_EQ(Status::NotFound("trial 3").WithContext("study demo").code(), StatusCode::kNotFound);
  EXPECT_TRUE(Status::Ok().WithContext("study demo").ok());
  EXPECT_EQ(Status::Ok().WithContext("study demo").message(), "");
}

TEST(ResultTest, HoldsAValueOrAStatus) {
  Result<int> value(42);
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, 42);
  EXPECT_TRUE(value.status().ok());

  Result<int> error(Status::NotFound("x"));
  EXPECT_FALSE(error.ok());
  EXPECT_EQ(error.status().code(), StatusCode::kNotFound);
}

TEST(ResultTest, MovesOutMoveOnlyValues) {
  Result<std::unique_ptr<int>> r(std::make_unique<int>(7));
  std::unique_ptr<int> p = *std::move(r);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

Status FailIf(bool fail) { return fail ? Status::Corruption("bad") : Status::Ok(); }

Result<int> Twice(Result<int> in) {
  MGR_ASSIGN_OR_RETURN(int v, std::move(in));
  return 2 * v;
}

Status Chain(bool fail, int* reached) {
  MGR_RETURN_IF_ERROR(FailIf(fail));
  *reached = 1;
  return Status::Ok();
}

TEST(StatusMacrosTest, ReturnEarlyOnError) {
  int reached = 0;
  EXPECT_EQ(Chain(true, &reached).code(), StatusCode::kCorruption);
  EXPECT_EQ(reached, 0);
  EXPECT_TRUE(Chain(false, &reached).ok());
  EXPECT_EQ(reached, 1);

  EXPECT_EQ(*Twice(21), 42);
  Result<int> failed = Twice(Status::Busy("locked"));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message(), "locked");
}

}  // namespace
}  // namespace mgr
