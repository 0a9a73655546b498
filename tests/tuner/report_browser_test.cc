// The report as a person sees it: `mgr-tune report` on a store, the page opened in headless
// Chromium (Debian's package), every chart checked for pixels, no console errors, a few
// numbers on the page cross-checked against the store, and a screenshot kept in
// <build>/report_browser/EveryChartDrawsAndTheNumbersMatchTheStore/report.png.
#include <cmath>
#include <cstdlib>
#include <regex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "storage/storage.h"
#include "tests/test_util.h"
#include "tests/tuner/report_test_study.h"

namespace mgr {
namespace {

using ::testing::HasSubstr;
using testing_util::Shell;

const std::string kDir = std::string(MGR_BINARY_DIR) + "/report_browser";

std::string Chromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    std::string path;
    if (Shell(std::string("command -v ") + name, &path) == 0 && !path.empty()) {
      return path.substr(0, path.find('\n'));
    }
  }
  return "";
}

// Runs the page's scripts (virtual time lets Chart.js finish) and returns the DOM after.
std::string DumpDom(const std::string& browser, const std::string& html_path,
                    const std::string& profile) {
  std::string dom;
  const int rc = Shell("timeout 180 " + browser +
                           " --headless --no-sandbox --disable-gpu --user-data-dir=" + profile +
                           " --window-size=1200,2000 --virtual-time-budget=20000 --dump-dom "
                           "file://" +
                           html_path + " 2>/dev/null",
                       &dom);
  EXPECT_EQ(rc, 0) << browser << " failed on " << html_path;
  return dom;
}

int IntAttr(const std::string& dom, const std::string& attr) {
  std::smatch m;
  if (!std::regex_search(dom, m, std::regex(attr + "=\"(\\d+)\""))) return -1;
  return std::stoi(m[1]);
}

class ReportBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    browser_ = Chromium();
    ASSERT_FALSE(browser_.empty()) << "no chromium in PATH: install Debian's chromium "
                                      "(tools/install_deps.sh)";
    // One folder per test, emptied first: the last run's screenshot stays for people.
    dir_ = kDir + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_EQ(Shell("rm -rf '" + dir_ + "' && mkdir -p '" + dir_ + "/profile'"), 0);
  }
  std::string browser_;
  std::string dir_;
};

TEST_F(ReportBrowserTest, EveryChartDrawsAndTheNumbersMatchTheStore) {
  const std::string db = dir_ + "/study.db";
  std::vector<std::string> names;
  double best = NAN;
  {
    auto storage = OpenStorage("sqlite:///" + db);
    ASSERT_TRUE(storage.ok()) << storage.status().ToString();
    auto written = report_test::WriteSyntheticStudy(**storage, "browser", 16);
    ASSERT_TRUE(written.ok()) << written.status().ToString();
    names = *written;
    auto id = (*storage)->GetStudyId(names[0]);
    ASSERT_TRUE(id.ok());
    auto trials = (*storage)->GetAllTrials(*id, {TrialState::kComplete});
    ASSERT_TRUE(trials.ok());
    for (const auto& t : *trials) best = std::isnan(best) ? t.value() : std::min(best, t.value());
  }
  const std::string html = dir_ + "/report.html";
  std::string out;
  ASSERT_EQ(Shell(std::string(MGR_TUNE) + " report --storage sqlite:///" + db + " --study-name " +
                      names[0] + " --study-name " + names[1] + " -o " + html + " 2>&1",
                  &out),
            0)
      << out;

  const std::string dom = DumpDom(browser_, html, dir_ + "/profile");
  ASSERT_THAT(dom, HasSubstr("data-charts="));  // the drawing script ran to its end
  EXPECT_EQ(IntAttr(dom, "data-errors"), 0) << dom.substr(dom.find("mgr-errors"), 2000);
  const int charts = IntAttr(dom, "data-charts");
  EXPECT_GE(charts, 15);
  // Every canvas was drawn: points in its data and pixels on it.
  std::regex painted(
      "<canvas id=\"chart-(\\d+)\"[^>]*data-points=\"(\\d+)\" data-painted=\"(\\d+)\"");
  int drawn = 0;
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), painted);
       it != std::sregex_iterator(); ++it) {
    ++drawn;
    EXPECT_GT(std::stoi((*it)[2]), 0) << "chart " << (*it)[1] << " has no data";
    EXPECT_GT(std::stoi((*it)[3]), 1000) << "chart " << (*it)[1] << " is blank";
  }
  EXPECT_EQ(drawn, charts);

  // Numbers on the page against the store.
  char best_text[32];
  std::snprintf(best_text, sizeof best_text, "%.6g", best);
  EXPECT_THAT(dom, HasSubstr(std::string(">") + best_text + " (#"));
  EXPECT_THAT(dom, HasSubstr("id=\"test-accuracy\">0.8125<"));
  EXPECT_THAT(dom, HasSubstr("class=\"num n-trials\">16<"));

  // The screenshot people look at.
  ASSERT_EQ(Shell("timeout 180 " + browser_ +
                  " --headless --no-sandbox --disable-gpu --user-data-dir=" + dir_ +
                  "/profile --hide-scrollbars --window-size=1200,4000 "
                  "--virtual-time-budget=20000 --screenshot=" +
                  dir_ + "/report.png file://" + html + " >/dev/null 2>&1"),
            0);
  EXPECT_GT(testing_util::ReadFile(dir_ + "/report.png").size(), 10000u);
}

// The check above can fail: a page with a script error is caught.
TEST_F(ReportBrowserTest, AScriptErrorOnThePageIsCaught) {
  const std::string db = dir_ + "/broken.db";
  {
    auto storage = OpenStorage("sqlite:///" + db);
    ASSERT_TRUE(storage.ok());
    ASSERT_TRUE(report_test::WriteSyntheticStudy(**storage, "broken", 4).ok());
  }
  const std::string html = dir_ + "/broken.html";
  ASSERT_EQ(Shell(std::string(MGR_TUNE) + " report --storage sqlite:///" + db +
                  " --study-name broken/base -o " + html + " >/dev/null 2>&1"),
            0);
  std::string page = testing_util::ReadFile(html);
  const size_t body = page.find("<body>");
  ASSERT_NE(body, std::string::npos);
  page.insert(body + 6, "<script>noSuchFunction();</script>");
  testing_util::WriteFile(html, page);
  const std::string dom = DumpDom(browser_, html, dir_ + "/profile");
  EXPECT_EQ(IntAttr(dom, "data-errors"), 1);
  EXPECT_THAT(dom, HasSubstr("noSuchFunction"));
}

}  // namespace
}  // namespace mgr
