"""The reports' narrative in English and Chinese: each section's heading and explanation.

A notebook shows a section's text with ``show(say("kpi.pareto", ctx.language))``; the text is
Markdown, in the reader's language, and the keys name the notebook and section so that whoever
reads the notebook's source knows what the cell says. Headings live here too (rather than in
markdown cells, which cannot change language) so a ``zh`` report has no English heading.
Values interpolated into a text (``{unit}``, ``{period}``) are shown as written, never as markup
(:func:`qa_helpers.report.safe.markdown_text`); :func:`say` returns a :class:`Said`, which
:func:`~qa_helpers.report.context.show` trusts to hold no other HTML than its ``verbatim`` marks.

Short labels (KPI names, table headers, verdicts) are in :mod:`qa_helpers.report.labels`.
"""

from __future__ import annotations

import re

from qa_helpers.report.labels import LANGUAGES
from qa_helpers.report.safe import markdown_text

NARRATIVE: dict[str, tuple[str, str]] = {
    # ------------------------------------------------------------ 1 standards
    "standards.title": (
        "# Standards in force\n\n"
        "**Step 1 of the quality loop.** The objectives and service standards this unit is measured "
        "against: KPI targets and which way is better, the scorecard's weighted indicators, each channel's "
        "first-response limit, the grade bands, the alert and coaching rules, and any target this team has "
        "agreed to differ from the default. The standards file is checked when it loads; the checks are "
        "listed at the end.",
        "# 现行标准\n\n"
        "**质量闭环第 1 步。** 本单位考核所依据的目标与服务标准：各项 KPI 的目标值及其方向、评分卡的加权指标、"
        "各渠道的首次响应时限、等级划分、预警与辅导规则，以及本班组与默认值不同的约定目标。"
        "标准文件在加载时即做校验，校验结果列于文末。"),
    "standards.targets": (
        "## KPI targets\n\n"
        "Response and handling times have a target per channel: one average over phone, chat and e-mail "
        "would fit none of them. *Floor* is the level at which a scorecard indicator earns no points; "
        "*team override* marks a target agreed for this team instead of the default; *source* says where "
        "the target comes from.",
        "## KPI 目标\n\n"
        "响应时长与处理时长按渠道分别设定目标：电话、在线与邮件的节奏不同，一个混合平均值对哪个渠道都不合适。"
        "*零分线*是评分卡指标得 0 分的水平；*班组调整*表示本班组约定的目标替代了默认目标；*依据*说明目标的出处。"),
    "standards.weights": (
        "## Scorecard indicators and weights\n\n"
        "The after-sales scorecard: four dimensions, weighted indicators totalling 100 points. How an "
        "indicator earns its points is the scoring method below.",
        "## 评分卡指标与权重\n\n"
        "售后服务评分卡：四个维度，各指标权重合计 100 分。指标如何得分见下文的计分方法。"),
    "standards.rules": (
        "## Service levels, grades and rules\n\n"
        "First-response limits per channel, the grade bands, the scoring method, and the alert and "
        "coaching rules in words.",
        "## 服务时限、等级与规则\n\n"
        "各渠道首次响应时限、等级划分、计分方法，以及预警与辅导规则的文字说明。"),
    "standards.catalogue": (
        "## How each KPI is computed\n\n"
        "Each KPI is defined once in the kit, and its formula is shown here. The last column says whether "
        "this archive can measure it: a KPI whose table or field the exports do not have is *not measured* "
        "in every report.",
        "## 各项 KPI 的计算方法\n\n"
        "每项 KPI 在工具包中只定义一次，计算公式如下。最后一列说明本档案能否测量该指标："
        "若导出数据缺少所需的表或字段，则该指标在所有报告中均显示为*未测量*。"),
    "standards.checks": (
        "## Checks on the standards file",
        "## 标准文件校验"),
    # ------------------------------------------------------------ 1 standards: rules in words
    "standards.rule_scoring": (
        "- **Scoring method:** {method}; root cause when under {below} of target.",
        "- **计分方法**：{method}；达成率低于目标的 {below} 时需做根因分析。"),
    "standards.rule_alert": (
        "- **Alert:** {kpi} {word} {value} per {group} and week (judged with n ≥ {min_n}){source}.",
        "- **预警**：每{group}每周{kpi}{word} {value}（样本量 n ≥ {min_n} 时评判）{source}。"),
    "standards.under": ("under", "低于"), "standards.over": ("over", "高于"),
    "standards.rule_episodes": (
        "- **Alert episodes:** weeks apart by at most {gap} are one alert; open {chronic} weeks or more is chronic.",
        "- **预警合并**：间隔不超过 {gap} 周的触发合并为一条预警；持续 {chronic} 周或以上为持续预警。"),
    "standards.rule_coaching": (
        "- **Coaching:** {kpi} under {below} in {weeks} weeks in a row (weeks with at least {min_responses} "
        "answers), at least {min_run} answers over the run, and below the team at {confidence} confidence{source}.",
        "- **辅导**：{kpi}连续 {weeks} 周低于 {below}（每周至少 {min_responses} 份回答），连续期间至少 {min_run} "
        "份回答，且在 {confidence} 置信水平下低于班组{source}。"),
    "standards.no_sla": ("none (arrival by promised time)", "无（按约定时间上门）"),
    "standards.weights_title": ("Weight by dimension (points of 100)", "权重（按维度，满分 100）"),
    # ------------------------------------------------------------ 2 data quality
    "quality.title": (
        "# Data quality\n\n"
        "**Step 2 of the quality loop.** Before any KPI is read, this report answers: did every row the source "
        "systems exported arrive, what was rejected and why, how complete are the fields, and do surveys, "
        "complaints and field visits link back to their tickets? Rejected rows are never dropped silently: each "
        "sits in the archive's quarantine with the rule that rejected it.",
        "# 数据质量\n\n"
        "**质量闭环第 2 步。** 在解读任何 KPI 之前，本报告回答：源系统导出的每一行是否都已到达，哪些被拒收、原因是什么，"
        "各字段是否完整，问卷、投诉与上门服务能否关联回其工单？被拒收的行从不会被悄悄丢弃："
        "每一行都连同拒收它的规则保存在档案的隔离区中。"),
    "quality.accounting": (
        "## 1. Row accounting\n\n"
        "Every raw row ends up either in the archive or in quarantine: raw = archived + quarantined for every "
        "source. These counts cover the whole ingest (all teams, all periods), because a rejected row often has "
        "no trustworthy team or date.",
        "## 1. 行数核对\n\n"
        "每一行原始数据要么进入档案，要么进入隔离区：每个数据源都满足 原始行数 = 入档行数 + 隔离行数。"
        "这些计数覆盖整个导入（所有班组、所有期间），因为被拒收的行往往没有可信的班组或日期。"),
    "quality.reasons": (
        "## 2. Why rows were rejected\n\n"
        "Each bar is one cleaning or validation rule: an exact copy of an earlier row, a ticket created for "
        "testing, a burst of one-star online reviews in a short window, a value that could not be read (a date "
        "like 2025/02/30), a value outside the allowed range or set, an empty required field, an agent who is "
        "not on the roster, an impossible date.",
        "## 2. 行被拒收的原因\n\n"
        "每根柱代表一条清洗或校验规则：与之前某行完全相同的重复行、测试工单、短时间内集中出现的一星网络评价、"
        "无法读取的值（如 2025/02/30 这样的日期）、超出允许范围或取值集合的值、必填字段为空、不在名册中的客服工号、"
        "不可能的日期。"),
    "quality.inventory": (
        "## 3. The data for this unit and period\n\n"
        "A table the config maps no source to is not in the archive: its sections below say so instead of "
        "showing zeros.",
        "## 3. 本单位本期的数据\n\n"
        "配置中没有对应数据源的表不在档案中：下文相应部分会注明，而不是显示为 0。"),
    "quality.completeness": (
        "## 4. Completeness\n\n"
        "Share of empty values in each column that has any. Some are empty by design: the recommendation score "
        "is an optional survey question, online reviews name no ticket, proactiveness is not applicable when "
        "there was no chance to be proactive, and remarks are free text. Fields an export does not have at all "
        "are listed below the chart, not counted as empty.",
        "## 4. 完整性\n\n"
        "各字段中空值的占比（仅列出有空值的字段）。部分空值是设计使然：推荐评分是问卷的选答题，网络评价不对应工单，"
        "没有主动服务机会时主动性评分不适用，备注为自由文本。导出数据中完全没有的字段列于图下，不计为空值。"),
    "quality.duplicates": (
        "## 5. Duplicates\n\n"
        "Duplicates removed at ingest (whole archive), and a check that no id repeats in the data this report reads.",
        "## 5. 重复数据\n\n"
        "导入时删除的重复数据（整个档案），以及本报告所读数据中没有重复编号的核查。"),
    "quality.linkage": (
        "## 6. Survey response and linkage\n\n"
        "The response rate is the share of this unit's tickets with at least one survey answer (online reviews "
        "excluded). Linkage is the share of surveys, complaints and field visits naming a ticket that can be "
        "found in the archive; unlinked rows cannot be attributed to a team, so linkage is measured over the "
        "whole company for this period.",
        "## 6. 问卷回收与关联\n\n"
        "回收率是本单位工单中至少有一份问卷回答的占比（不含网络评价）。关联率是问卷、投诉与上门服务中所指工单"
        "能在档案中找到的占比；无法关联的行不能归属到班组，因此关联率按全公司本期统计。"),
    "quality.coverage": (
        "## 7. Coverage by channel\n\n"
        "Tickets per week and channel. A pale cell in an otherwise busy row is a gap worth asking the source "
        "system's owner about before reading any KPI for that week. Weeks at the edges of the period are partial.",
        "## 7. 各渠道覆盖情况\n\n"
        "每周各渠道的工单数。在一行普遍较深的格子中出现浅色格，说明数据可能有缺口，解读该周 KPI 前应向源系统负责人核实。"
        "期间首尾的周不完整。"),
    "quality.ingest_notes": ("**Ingest notes** (no data lost):", "**导入说明**（没有数据丢失）："),
    "quality.absent_tables": ("Not in the archive (no source): {tables}.", "档案中没有（无数据源）：{tables}。"),
    "quality.absent_fields": (
        "Fields the exports do not have (not counted as empty): {fields}.",
        "导出数据中没有的字段（不计为空值）：{fields}。"),
    "quality.no_duplicates": ("No duplicates were found at ingest.", "导入时未发现重复数据。"),
    "quality.no_linkage": (
        "Linkage — not measured: no surveys, complaints or field visits table in the archive.",
        "关联率——未测量：档案中没有问卷、投诉或上门服务表。"),
    # ------------------------------------------------------------ 7 before/after
    "before_after.title": (
        "# Before/after evaluation\n\n"
        "**Step 6 of the quality loop.** Did each improvement action move its metrics? \"CSAT went up 3 points "
        "after the training\" is the claim every project makes, and most such claims are noise: season, channel "
        "mix, regression to the mean, or tickets counted as if independent when they cluster by agent. So for "
        "every metric of every action that has run its course:\n\n"
        "* the **default test** compares whole weeks before and after the start, with the right test for the kind "
        "of metric (proportions, durations, scores, rates) and errors that account for tickets clustering within "
        "agents and within weeks; this is the result to believe;\n"
        "* the **difference-in-differences** (DiD) compares the change with the control teams' change over the same "
        "weeks, removing season and company-wide shifts;\n"
        "* the **segmented regression** looks at the weekly series for a jump in level or slope at the start (supporting evidence only);\n"
        "* every row of an action is one family: p-values are adjusted across all of them (Holm);\n"
        "* the **minimum detectable effect** (MDE) says how big an effect these sample sizes could have found, so a "
        "non-significant result reads *cannot tell yet* rather than \"no effect\" when the data were too few.\n\n"
        "A measure is worth standardising when the default test says *improved* and the after value also meets the "
        "action's acceptance target. A metric the archive cannot measure is named as not evaluable, with the reason.",
        "# 改进前后对比\n\n"
        "**质量闭环第 6 步。** 每项改进措施是否真正改变了其指标？\"培训后满意度提高了 3 个百分点\"是每个项目都会说的话，"
        "但多数只是噪声：季节、渠道结构、向均值回归，或把按客服聚集的工单当作相互独立来计算。因此，对每项已完成周期的措施的每个指标：\n\n"
        "* **默认检验**比较措施开始前后的完整周，按指标类型（比例、时长、评分、比率）选用合适的检验，并考虑工单在客服内部的聚集；"
        "并考虑同一周内的共同波动；以此结果为准；\n"
        "* **双重差分**（DiD）将变化与对照班组同期的变化相比较，剔除季节与全公司范围的变化；\n"
        "* **分段回归**考察周序列在措施开始时水平或斜率是否跳变（仅作辅助证据）；\n"
        "* 同一措施的所有结果行为一个检验族：p 值在其间经 Holm 法校正；\n"
        "* **最小可检测效应**（MDE）说明在现有样本量下能发现多大的效应；数据不足时，不显著的结果判为*尚无定论*，而不是\"无效果\"。\n\n"
        "当默认检验判为*改善*且措施后的数值也达到验收目标时，该措施值得标准化推广。档案无法测量的指标会注明无法评估及原因。"),
    "before_after.results": ("## Results", "## 结果"),
    "before_after.headlines": (
        "## Did it work?\n\nOne sentence per action; the sections below give the evidence.",
        "## 措施是否见效？\n\n每项措施一句话结论；下文各节给出依据。"),
    "before_after.action": (
        "### {action}: {measure}\n*Problem:* {problem}. *Teams:* {teams}; *controls:* {controls}; *start:* {start}; "
        "windows of {before} + {after} whole weeks.",
        "### {action}：{measure}\n*问题*：{problem}。*班组*：{teams}；*对照班组*：{controls}；*开始*：{start}；"
        "前后窗口各 {before} + {after} 个完整周。"),
    "before_after.channels": (" Channels: {channels}.", "渠道：{channels}。"),
    "before_after.washout": (" {weeks} wash-out week(s) left out.", "剔除 {weeks} 个过渡周。"),
    "before_after.skipped": ("- {kpi}: cannot be evaluated: {reason}.", "- {kpi}：无法评估：{reason}。"),
    "before_after.family": (
        "All result rows of this action below (before/after, difference-in-differences, segmented level and slope, "
        "channel-standardised) are one family, *{family}*: the adjusted p is adjusted across all of them and every CI "
        "is at the family's level (Bonferroni alpha / m with Holm), so a verdict holds for the action as a whole.",
        "本措施下列所有结果行（前后对比、双重差分、分段回归的水平与斜率、渠道标准化）属于同一检验族 *{family}*："
        "校正后 p 值在全族内校正，每个置信区间都采用全族水平（Holm 法，Bonferroni 校正 α / m），因此结论对整个措施成立。"),
    "conclusion.main": (
        "{kpi}: {verdict} (before {before}, after {after}; effect {effect}, 95 % CI {low} to {high}; adjusted p = {p}; "
        "smallest detectable effect {mde}).",
        "{kpi}：{verdict}（之前 {before}，之后 {after}；效应 {effect}，95 % CI {low} 至 {high}；校正后 p = {p}；"
        "最小可检测效应 {mde}）。"),
    "conclusion.did": (
        " Against the control team(s) the verdict is {verdict} (adjusted p = {p}).",
        "与对照班组相比，结论为{verdict}（校正后 p = {p}）。"),
    "conclusion.after": (
        " In the after-window the KPI is {value} against its target {target}: ",
        "措施后窗口内该 KPI 为 {value}，目标为 {target}："),
    "conclusion.standardise": ("meets it: standardise the measure.", "已达标：应将该措施标准化推广。"),
    "conclusion.unproven": ("meets it, but the change is not established.", "已达标，但改变尚未得到证实。"),
    "conclusion.missed": ("target not met.", "未达标。"),
    "evaluation.none_registered": (
        "No actions registered: the action register lists none, so there is nothing to evaluate.",
        "没有登记改进措施：措施登记表为空，无可评估的内容。"),
    "evaluation.waiting": (
        "Not yet evaluable (the after-window has not passed by the end of the period): {actions}",
        "尚不能评估（截至期末，措施后的观察窗口尚未结束）：{actions}"),
    "evaluation.starts": ("{action} (starts {start})", "{action}（{start} 开始）"),
    "evaluation.none_ready": (
        "No action of this unit has run its course by the end of this period.",
        "截至本期末，本单位没有完成观察周期的措施。"),
    "evaluation.no_agents": (
        "The tickets carry no agent, so the tests cannot allow for tickets clustering within agents: they treat "
        "tickets as independent, and their p-values are optimistic.",
        "工单中没有客服工号，检验无法考虑工单在客服内部的聚集：只能把工单视为相互独立，p 值因此偏乐观。"),
    "before_after.did": (
        "**Difference-in-differences** against the control team(s):",
        "与对照班组的**双重差分**（DiD）："),
    "before_after.its": (
        "**Segmented regression** on the treated team's weekly series (level and slope change at the start):",
        "措施班组周序列的**分段回归**（措施开始时的水平与斜率变化）："),
    "before_after.mix_moved": (
        "**Channel mix** before and after — it moved, so a channel-standardised estimate follows:",
        "措施前后的**渠道结构**——结构有变化，下面给出按渠道标准化的估计："),
    "before_after.mix_steady": (
        "**Channel mix** before and after (no significant shift):",
        "措施前后的**渠道结构**（无显著变化）："),
    # ------------------------------------------------------------ 8 QA calibration
    "calibration.title": (
        "# QA calibration\n\n"
        "**Are the quality reviews themselves reliable?** Rubric scores (voice quality, courtesy phrases, problem "
        "solving, proactiveness, compliance) by reviewer and by agent; agreement between reviewers on the shared "
        "calibration conversations that every reviewer scores (Fleiss' κ, weighted Cohen's κ for each pair, ICC, "
        "and the share within ±10 % of consensus); each reviewer's bias against the consensus; the internal "
        "quality score (IQS, 0-100, with auto-fail and not-applicable items handled); and a stratified random "
        "review sample for the next period.\n\n"
        "Calibration is a property of the reviewers, not of a team: agreement and bias use every calibration "
        "conversation of the year up to the end of this period.",
        "# 质检校准\n\n"
        "**质检评分本身可靠吗？** 按质检员和客服统计的评分表得分（语音质量、礼貌用语、问题解决、主动性、合规性）；"
        "质检员对共同校准会话（每位质检员都评分的会话）的一致性（Fleiss κ、两两加权 Cohen κ、ICC，以及与共识相差 ±10 % "
        "以内的占比）；每位质检员相对共识的偏差；内部质量分（IQS，0–100，处理一票否决项与不适用项）；以及下一期的分层随机抽检样本。\n\n"
        "校准反映的是质检员而非班组的特性：一致性与偏差使用本年度截至本期末的全部校准会话。"),
    "calibration.distributions": ("## Score distributions", "## 评分分布"),
    "calibration.agreement": ("## Agreement on the calibration conversations", "## 校准会话上的一致性"),
    "calibration.bias": (
        "## Reviewer bias\n\n"
        "Each reviewer's mean difference from the consensus (the mean of all reviewers on the same conversation), "
        "with a 95 % confidence interval. An interval clear of zero is a systematic lean worth a calibration session.",
        "## 质检员偏差\n\n"
        "每位质检员与共识（同一会话所有质检员评分的平均）的平均差异及 95 % 置信区间。区间不包含 0 表示存在系统性偏向，"
        "值得安排一次校准会。"),
    "calibration.iqs": (
        "## Internal quality score (IQS)\n\n"
        "Weighted rubric items on a 0-100 scale; items that do not apply drop out and the other weights are "
        "re-normalised; a critical failure scores 0.",
        "## 内部质量分（IQS）\n\n"
        "评分表各项加权，折算为 0–100 分；不适用的项不计，其余权重重新归一；出现严重错误（一票否决）计 0 分。"),
    "calibration.sample": (
        "## Review sample for the next period\n\n"
        "Sized to the QA team's capacity for the next period (reviews per team per week × weeks), spread across "
        "channel × category × risk strata in proportion to their size, with complaint and low-CSAT tickets "
        "oversampled. Each ticket carries its design weight, so estimates from the reviews stay unbiased. "
        "The same random seed gives the same sample.",
        "## 下一期抽检样本\n\n"
        "样本量按质检团队下一期的产能确定（每班组每周抽检量 × 周数），按渠道 × 类别 × 风险分层、与各层规模成比例分配，"
        "投诉工单与低满意度工单加大抽样比例。每张工单附有设计权重，据此加权的抽检结果仍为无偏估计。"
        "相同的随机种子得到相同的样本。"),
    "calibration.coverage": (
        "## QA coverage\n\nThe share of this period's tickets with an ordinary QA review, for the unit and per "
        "channel (calibration reviews, which re-score tickets to align the reviewers, do not count): the QA "
        "coverage of the programme section, held against its target.",
        "## 质检覆盖率\n\n本期工单中经常规质检审核的比例，按整体和渠道列示（校准审核为统一评分尺度而重复评分，不计入）；"
        "与培训与质检计划一节的质检覆盖率口径相同，并据此对照目标。"),
    "calibration.coverage_line": (
        "QA reviewed {reviewed} of {tickets} tickets this period in ordinary reviews ({coverage} coverage).",
        "本期常规质检审核了 {tickets} 张工单中的 {reviewed} 张（覆盖率 {coverage}）。"),
    "calibration.coverage_none": (
        "No tickets of this unit in the period: QA coverage is not defined.",
        "本期该单位没有工单：质检覆盖率无从计算。"),
    # ------------------------------------------------------------ 8 QA calibration: lines
    "calibration.no_reviews": (
        "No QA reviews in the archive: there is nothing to calibrate. The review sample for the next period follows.",
        "档案中没有质检记录：无可校准的内容。下文为下一期的抽检样本。"),
    "calibration.data_line": (
        "{reviews} reviews of this unit in the period; {conversations} calibration conversations scored by "
        "{reviewers} reviewers ({calibration_reviews} reviews) this year.",
        "本单位本期质检 {reviews} 次；本年度共有 {conversations} 个校准会话，由 {reviewers} 名质检员评分（共 "
        "{calibration_reviews} 次）。"),
    "calibration.no_table": ("Not measured: no QA reviews table in the archive.", "未测量：档案中没有质检表。"),
    "calibration.no_calibration": (
        "No calibration conversations this year up to the end of the period.",
        "本年度截至期末没有校准会话。"),
    "calibration.no_unit_reviews": ("No QA reviews of this unit in the period.", "本单位本期没有质检记录。"),
    "calibration.no_ordinary": (
        "No reviews outside the calibration set in this period.",
        "本期没有校准集之外的质检记录。"),
    "calibration.mean_scores": (
        "Mean rubric scores by agent (1-5), lowest problem-solving first:",
        "各客服评分表平均分（1–5），按问题解决得分从低到高："),
    "calibration.fleiss": (
        "**Fleiss' κ** per rubric item (conversations every reviewer scored):",
        "各评分项的 **Fleiss κ**（所有质检员都评分的会话）："),
    "calibration.icc": (
        "**ICC(2,1)** (two-way random, absolute agreement, single rater) per item and for the IQS:",
        "各评分项及 IQS 的 **ICC(2,1)**（双向随机、绝对一致、单一评分者）："),
    "calibration.within": (
        "**Within ±10 % of consensus** (share of a reviewer's IQS within 10 % of the panel mean):",
        "**与共识相差 ±10 % 以内**（质检员的 IQS 与全体平均相差 10 % 以内的占比）："),
    "calibration.sample_line": (
        "{sampled} of {tickets} tickets sampled for review in {period}, the QA team's capacity of {capacity} reviews "
        "({teams} team(s), {per_week} a week each unless set per team), across {strata} strata ({by}); complaint "
        "tickets oversampled ×{complaint}, low-CSAT ×{low_csat}; seed {seed} (same seed, same sample); weight each "
        "review by its design weight for unit-wide estimates:",
        "从 {tickets} 张工单中抽取 {sampled} 张供 {period} 质检，即质检团队 {capacity} 次的产能（{teams} 个班组，"
        "除非按班组另设，每组每周 {per_week} 次），共 {strata} 层（{by}）；投诉工单过采样 ×{complaint}，低满意度 ×{low_csat}；"
        "随机种子 {seed}（种子相同，样本相同）；估计全单位指标时请按设计权重加权："),
    "calibration.sample_need": (
        "A share within ±{margin} (95 %) in every stratum would need {needed} reviews.",
        "若要每层的占比估计误差在 ±{margin}（95 %）以内，需要质检 {needed} 次。"),
    "calibration.sample_unknown": (
        " Not used for oversampling (not in the archive): {what}.",
        "未用于过采样（档案中没有）：{what}。"),
    # ------------------------------------------------------------ 3 KPI analysis
    "kpi.title": (
        "# KPI analysis\n\n"
        "**Step 3 of the quality loop.** Headline KPIs against target, where they differ (channel, category, "
        "customer type, agent), how they moved week by week, which problem categories matter most, what "
        "causes complaints, and how agents' satisfaction relates to their resolution rate. Every figure "
        "carries the number of observations behind it (n); a group without data shows a dash, never 0 %. "
        "A KPI whose table or field the archive does not have is *not measured*, and says why.",
        "# KPI 分析\n\n"
        "**质量闭环第 3 步。** 核心 KPI 与目标的对比；按渠道、问题类别、客户类型和客服的差异；逐周变化；"
        "最主要的问题类别；投诉原因；以及客服满意度与一次解决率的关系。每个数字都附样本量（n）；"
        "没有数据的分组显示为短横线，而不是 0 %。档案中缺少所需表或字段的 KPI 显示为*未测量*并说明原因。"),
    "kpi.headline": (
        "## Headline KPIs against target",
        "## 核心 KPI 与目标对比"),
    "kpi.breakdowns": (
        "## Breakdowns\n\n"
        "Satisfaction and resolution by channel, problem category and customer type (enterprise against "
        "individual customers). The dashed line is the target.",
        "## 分类对比\n\n"
        "按渠道、问题类别和客户类型（企业客户与个人客户）对比满意度与一次解决率。虚线为目标值。"),
    "kpi.trends": (
        "## Weekly trends\n\n"
        "Weekly values against target. Weeks at the edges of the period may be partial.",
        "## 周趋势\n\n"
        "每周数值与目标对比。期间首尾的周可能不完整。"),
    "kpi.pareto": (
        "## Where the problems are: Pareto\n\n"
        "Problem tickets are those not resolved at first contact, reopened, complained about, or rated 1-3 "
        "by the customer. The darker bars are the *vital few* categories that together make up 80 % of "
        "problems: start there.",
        "## 问题集中在哪里：帕累托分析\n\n"
        "问题工单指未能一次解决、被重开、被投诉或客户评分为 1–3 分的工单。深色柱为累计占问题 80 % 的"
        "*关键少数*类别：应优先处理。"),
    "kpi.fishbone": (
        "## Why customers complain: fishbone tally\n\n"
        "Complaints by cause dimension — people, process, tools, environment — the bones of the fishbone "
        "diagram, split by problem category.",
        "## 客户为何投诉：鱼骨图统计\n\n"
        "按原因维度（人员、流程、工具、环境，即鱼骨图的主骨）统计投诉数，并按问题类别细分。"),
    "kpi.agents": (
        "## Agents: satisfaction against resolution\n\n"
        "Each agent's CSAT against their first-contact resolution. Agents with fewer than 10 surveys or "
        "tickets are left out of the chart (too few to place).",
        "## 客服：满意度与一次解决率\n\n"
        "每位客服的满意度与一次解决率交叉分析。问卷或工单少于 10 份的客服不在图中显示（样本太少，无法定位）。"),
    "kpi.no_problems": ("No problem tickets in this period.", "本期没有问题工单。"),
    "kpi.problems_without": (
        "Problems counted without {lacking} (not in the archive).",
        "问题工单统计未包含{lacking}（档案中没有）。"),
    "kpi.lowest_agents": (
        "Lowest satisfaction (agents with enough surveys):",
        "满意度最低的客服（问卷数量充足）："),
    # ------------------------------------------------------------ 9 voice of customer (issue 15)
    "voc.title": (
        "# Voice of the customer\n\n"
        "**What customers write.** Survey comments, online reviews and complaint texts, read for the topics "
        "they raise (the topic dictionary: the problem types and pain points of the service standards, with "
        "Chinese and English keywords) and for dissatisfaction. A comment may raise several topics, so shares "
        "of comments do not add up to 100 %. Only masked text is read: phone numbers, names, e-mail addresses "
        "and ID numbers were replaced at ingest, and examples are masked again before they are shown.",
        "# 客户之声\n\n"
        "**客户写了什么。** 阅读问卷留言、网络评价和投诉内容，统计其中提到的话题（话题词典：服务标准中的问题类型和"
        "痛点，含中英文关键词与同义词）及不满情绪。一条留言可能提到多个话题，因此各话题占比之和不等于 100 %。"
        "只分析已脱敏的文本：电话、姓名、邮箱和证件号在导入时已替换，示例在展示前再次脱敏。"),
    "voc.headline": (
        "**Customers' top complaint in {period}: {topic}, {mentions} mentions in {comments} comments ({share}).**",
        "**{period} 客户最集中的问题：{topic}，{comments} 条留言中提到 {mentions} 次（{share}）。**"),
    "voc.headline_none": (
        "**No problem topic was mentioned in the {comments} comments of {period}.**",
        "**{period} 的 {comments} 条留言未提到任何问题话题。**"),
    "voc.headline_next": ("Next: {topics}.", "其次：{topics}。"),
    "voc.headline_signal": (
        "Dissatisfied comments (by the text's wording): {share} of {n}.",
        "按措辞判断表达不满的留言：{n} 条中占 {share}。"),
    "voc.no_comments": ("No survey comments in {period}.", "{period} 没有问卷留言。"),
    "voc.too_few": ("Not shown: no group has {n} comments or more.", "未显示：没有哪个分组的留言达到 {n} 条。"),
    "voc.pareto": (
        "## Pain points: Pareto\n\n"
        "Problem topics of this period's survey comments, most mentioned first. The darker bars are the "
        "*vital few* that together make up 80 % of mentions.",
        "## 痛点：帕累托分析\n\n"
        "本期问卷留言中的问题话题，按提及次数从多到少排列。深色柱为累计占提及次数 80 % 的*关键少数*。"),
    "voc.channels": (
        "## Topics by channel\n\n"
        "Share of each channel's comments that mention the topic (n: comments). Channels with fewer than 20 "
        "comments are left out.",
        "## 各渠道的话题\n\n"
        "各渠道留言中提到该话题的占比（n：留言数）。留言少于 20 条的渠道不显示。"),
    "voc.customer_types": (
        "## Topics by customer type",
        "## 各客户类型的话题"),
    "voc.trend": (
        "## Trend by month\n\n"
        "Monthly share of comments mentioning the year's top problem topics.",
        "## 月度趋势\n\n"
        "本年提及最多的问题话题，每月在留言中的占比。"),
    "voc.trend_note": ("Months with fewer than {n} comments are left out.", "留言少于 {n} 条的月份不显示。"),
    "voc.changes": (
        "## What changed since the previous period\n\n"
        "Each topic's share of comments against the previous period: Newcombe CI and score test on effective "
        "counts (comments cluster by agent), p adjusted across the topics (Holm). *Improved* means a problem "
        "topic fell (or praise rose) beyond chance.",
        "## 较上期的变化\n\n"
        "各话题在留言中的占比与上期对比：在按客服聚类折算的有效样本量上做两比例置信区间与得分检验，"
        "各话题的 p 值经 Holm 校正。*有改善*表示问题话题的下降（或表扬的上升）超出偶然波动。"),
    "voc.changes_between": ("Compared: {before} → {after}.", "对比：{before} → {after}。"),
    "voc.no_previous": ("Not compared: no comments in {period}.", "未对比：{period} 没有留言。"),
    "voc.nothing_moved": (
        "No topic's share moved beyond chance.", "没有话题的占比变化超出偶然波动。"),
    "voc.moved_improved": (
        "- **{topic}** improved: {before} → {after} of comments (adjusted p = {p}).",
        "- **{topic}** 有改善：留言占比 {before} → {after}（校正后 p = {p}）。"),
    "voc.moved_worsened": (
        "- **{topic}** worsened: {before} → {after} of comments (adjusted p = {p}).",
        "- **{topic}** 变差：留言占比 {before} → {after}（校正后 p = {p}）。"),
    "voc.actions": (
        "## Topics around improvement actions\n\n"
        "For each action of the register that covers this unit: each topic's share of the team's comments in "
        "the whole weeks before the start against the weeks after, tested as above (Holm across the topics of "
        "the action).",
        "## 改进措施前后的话题\n\n"
        "对登记表中覆盖本单位的每项改进措施：比较该班组在措施开始前后若干整周内各话题的留言占比，检验方法同上"
        "（同一措施的各话题做 Holm 校正）。"),
    "voc.action": (
        "### {action} ({team}, from {start}): {weeks_before} weeks before against {weeks_after} weeks after",
        "### {action}（{team}，{start} 开始）：前 {weeks_before} 周与后 {weeks_after} 周对比"),
    "voc.action_no_data": ("No comments in one of the windows.", "其中一个时间窗没有留言。"),
    "voc.no_actions": ("No action of the register covers this unit.", "登记表中没有覆盖本单位的改进措施。"),
    "voc.signal": (
        "## Dissatisfaction in the wording\n\n"
        "A rule-based signal the kit builds from word lists in the topic dictionary file (no model): "
        "dissatisfied and satisfied words, negation (\"not satisfied\" is dissatisfied), problem topics "
        "counting as dissatisfied and praise as satisfied. Checked against the CSAT score of the same answer "
        "(1–3 taken as dissatisfied).",
        "## 措辞中的不满\n\n"
        "基于规则的信号，由话题词典文件中的词表构成（不使用模型）：不满与满意词、否定（\"不满意\"计为不满）、"
        "问题话题计为不满、表扬计为满意。并与同一问卷的满意度评分核对（1–3 分视为不满）。"),
    "voc.signal_agreement": (
        "Where the wording decides ({n} comments), it agrees with the CSAT score in {agreement}; it finds "
        "{recall} of the comments scored 1–3; {neutral} of comments stay neutral.",
        "措辞可判断的 {n} 条留言中，与满意度评分一致的占 {agreement}；评分 1–3 分的留言中识别出 {recall}；"
        "{neutral} 的留言为中性。"),
    "voc.snippets": (
        "## What customers say: examples\n\n"
        "Up to two short comments per topic this period, masked and shown as written.",
        "## 客户原话示例\n\n"
        "本期每个话题最多两条简短留言，已脱敏，按原文显示。"),
    "voc.keywords": (
        "## What the dictionary missed\n\n"
        "Words that stand out (jieba segmentation, TF-IDF) in the comments no topic matched: candidates for "
        "new topics or keywords in the topic dictionary. n: comments containing the word.",
        "## 词典未覆盖的内容\n\n"
        "在未匹配任何话题的留言中较为突出的词（结巴分词、词频-逆文档频率）：可考虑加入话题词典的新话题或关键词。"
        "数字为包含该词的留言数。"),
    "voc.keywords_unmatched": (
        "{unmatched} of {comments} comments mention no topic of the dictionary.",
        "{comments} 条留言中有 {unmatched} 条未提到词典中的任何话题。"),
    "voc.keywords_none": ("No word stands out in them.", "其中没有突出的词。"),
    "voc.reviews": (
        "## Online reviews\n\n"
        "Online reviews are analysed apart from surveys (they never count towards CSAT). Reviews name no "
        "team, so these are the whole company's reviews of the period; bursts of one-star reviews were "
        "removed at ingest.",
        "## 网络评价\n\n"
        "网络评价与问卷分开分析（不计入满意度）。网络评价不对应班组，因此此处为全公司本期的评价；"
        "集中出现的一星恶意评价已在导入时剔除。"),
    "voc.reviews_lead": (
        "{n} online reviews with text this period; {bursts} burst reviews removed at ingest.",
        "本期有内容的网络评价 {n} 条；导入时剔除集中恶意评价 {bursts} 条。"),
    "voc.reviews_top": (
        "Top problem topic in reviews: {topic} ({mentions} mentions); dissatisfied wording in {share} of reviews.",
        "网络评价中最集中的问题：{topic}（{mentions} 次）；{share} 的评价措辞表达不满。"),
    "voc.complaints": (
        "## Complaint texts\n\n"
        "Topics of this period's complaint texts: the hot spots (billing disputes, fault repair) and the "
        "service problems they name.",
        "## 投诉内容\n\n"
        "本期投诉内容中的话题：热点（账单争议、故障报修）及其中提到的服务问题。"),
    "voc.complaints_lead": ("{n} complaints with text this period.", "本期有内容的投诉 {n} 条。"),
    # ---- voice of customer at scale: texts sampled above a size (issue 17) ----
    "voc.sampled_comments": (
        "At this size the comments are a random sample: {n} of {total} comments of the period ({share}, seed {seed}); "
        "the counts above and below are the sample's, the shares estimate the whole.",
        "数据量较大，留言按随机抽样分析：本期 {total} 条留言中抽取 {n} 条（{share}，随机种子 {seed}）；"
        "上下文中的条数为样本条数，占比为对全部留言的估计。"),
    "voc.sampled_reviews": (
        "At this size the reviews are a random sample: {n} of {total} ({share}, seed {seed}).",
        "数据量较大，网络评价按随机抽样分析：{total} 条中抽取 {n} 条（{share}，随机种子 {seed}）。"),
    "voc.sampled_complaints": (
        "At this size the complaint texts are a random sample: {n} of {total} ({share}, seed {seed}).",
        "数据量较大，投诉内容按随机抽样分析：{total} 条中抽取 {n} 条（{share}，随机种子 {seed}）。"),
    "voc.no_complaints": ("No complaint texts in {period}.", "{period} 没有投诉内容。"),
    # ------------------------------------------------------------ end of voice of customer
    # ---- service levels by severity and customer type (issue 14) ----
    "kpi.service_levels": (
        "## Service levels by severity and customer type\n\n"
        "Seed 003's complaint limits: a first response within 24 h (tighter for severity 1 and 2), an intake "
        "confirmation within 2 working days, first handling within 48 h, each to be met by 95 % of "
        "complaints. *Within limit* is the share of complaints that met the limit (no answer yet, or not yet "
        "closed, counts as late once the limit has run out; complaints whose limit runs past the end of the "
        "data are left out as *not yet due*); *gap* is that share minus the target, in percentage points; a group with "
        "fewer than {min_n} complaints is shown but not judged. Customer-type "
        "rows are judged against the customer type's own limit where the standards set one. Limits in hours "
        "run on the calendar; working days count only working hours of working days (public holidays and "
        "make-up working days included).",
        "## 按严重级别与客户类型的服务时限\n\n"
        "依据种子文件 003 的投诉时限：24 小时内首次响应（一级、二级更严）、2 个工作日内完成受理确认、"
        "48 小时内完成初步处理，均要求 95 % 的投诉达标。*时限内占比*为在时限内完成的投诉占比（尚未答复或"
        "尚未关闭且时限已过的视为超时；截至数据截止时间时限尚未届满的计为*尚未到期*，不计入）；*差距*为该占比减去目标，单位为百分点；投诉少于 {min_n} 件的分组只列出、不评判。客户类型各行按标准中为该客户类型单独设定"
        "的时限评判（如有）。以小时计的时限按自然时间计算；以工作日计的时限只计工作日的工作时间"
        "（已计入法定节假日与调休上班日）。"),
    "kpi.service_resolution": (
        "## Resolution, out-of-hours complaints and repeats\n\n"
        "Resolution rate is the share of the period's complaints that are closed (target 95 %, seed 003; "
        "complaints still open within their first-handling limit at the end of the data are left out as not yet due); "
        "resolution time is the median time from receipt to closing, on the calendar and in working hours. "
        "Complaints received on a weekend, a public holiday or after hours wait for the next working day: "
        "the table compares them with those received in working time. A repeat complaint is a complaint "
        "from a customer who complained within the window before; a repeat contact is a ticket from a "
        "customer within the window after one of their tickets was resolved (customers matched by their "
        "pseudonymised id).",
        "## 解决情况、非工作时间投诉与重复投诉\n\n"
        "解决率为本期投诉中已关闭的占比（目标 95 %，种子文件 003；截至数据截止时间仍未关闭但初步处理时限尚未届满的投诉"
        "计为尚未到期，不计入）；解决时长为自受理至关闭的时长中位数，"
        "分别按自然时间和工作时间计算。周末、法定节假日或下班后受理的投诉要等到下一个工作日处理："
        "下表将其与工作时间内受理的投诉对比。重复投诉指客户在时间窗内再次投诉；重复来电指客户在其工单解决后的"
        "时间窗内又提交新工单（按脱敏后的客户编号匹配）。"),
    "svc.headline_miss": (
        "**{group}**: {share} {verb} {limit} against {target}, {gap} points short, n = {n}.",
        "**{group}**：{limit}{verb}的占 {share}，目标 {target}，差 {gap} 个百分点，n = {n}。"),
    "svc.headline_intro": (
        "**{missed} of {judged} severity service levels missed their seed-003 limit in {period}:**",
        "**{period} 共 {judged} 项按严重级别的服务时限中有 {missed} 项未达到种子文件 003 的要求：**"),
    "svc.all_meet": (
        "Every severity level met its seed-003 limits in {period} (n = {n} complaints).",
        "{period} 各严重级别均达到种子文件 003 的时限要求（n = {n} 件投诉）。"),
    "svc.no_limits": ("no service-level limits in the standards", "标准中未设服务时限"),
    "svc.too_few_to_judge": (
        "Too few complaints to judge any severity level against its seed-003 limits in {period} (n = {n} "
        "complaints; a severity level needs at least {min_n}).",
        "{period} 投诉过少，无法按种子文件 003 的时限评判任何严重级别（n = {n} 件投诉；每个级别至少需要 {min_n} 件）。"),
    "svc.not_yet_due": (
        "Not yet due, left out of n: {counts} — complaints still open at the end of the data ({end}) whose limit "
        "had not run out; they may still be answered in time.",
        "尚未到期、未计入 n：{counts}——截至数据截止时间（{end}）仍未完成、时限尚未届满的投诉，仍可能按时完成。"),
    "svc.resolution_line": (
        "Resolution rate {rate} against {target} (n = {n}); median time from receipt to closing {median_h} h, "
        "{median_wh} working hours.",
        "解决率 {rate}，目标 {target}（n = {n}）；自受理至关闭的时长中位数 {median_h} 小时，合 {median_wh} 个工作小时。"),
    "svc.resolution_miss": (
        "Below the 95 % resolution rate: {groups}.",
        "解决率低于 95 % 的级别：{groups}。"),
    "svc.arrival_line": (
        "{share_out} of complaints (n = {n}) arrived on a weekend, a holiday or after hours; {within_out} of them "
        "were answered within 24 h, against {within_in} of those received in working time.",
        "{share_out} 的投诉（n = {n}）在周末、节假日或下班后受理，其中 24 小时内答复的占 {within_out}，"
        "工作时间内受理的为 {within_in}。"),
    "svc.repeat_line": (
        "{what}: {rate} (n = {n}, within {days} days; target at most {target}).",
        "{what}：{rate}（n = {n}，{days} 天内；目标不高于 {target}）。"),
    "svc.call_back": (
        "Call-back within 24 h of resolution (seeds 000 and 003) — not measured: the archive has no call-back column.",
        "解决后 24 小时内回访（种子文件 000、003）——未测量：档案中没有回访字段。"),
    "monitoring.service_levels": (
        "## Complaint service levels week by week\n\n"
        "Share of each week's complaints answered within their severity's response limit (seed 003), in "
        "brackets the number of complaints. Weeks with fewer than {min_n} complaints of a severity are not judged.",
        "## 投诉服务时限逐周监控\n\n"
        "每周受理的投诉中在其严重级别响应时限内答复的占比（种子文件 003），括号内为投诉数。"
        "某级别当周投诉少于 {min_n} 件的不做评判。"),
    "svc.weekly_line": (
        "**{group}**: under {target} within {limit} in {below} of {judged} judged weeks; latest judged week {latest}.",
        "**{group}**：在 {judged} 个可评判周中有 {below} 周 {limit}内答复占比低于 {target}；最近一个可评判周为 {latest}。"),
    "svc.weekly_all_meet": (
        "Every judged week met the response limits of every severity level.",
        "所有可评判周各严重级别均达到响应时限。"),
    # ---- end service levels ----
    # ------------------------------------------------------------ 4 scorecard
    "scorecard.title": (
        "# Scorecard\n\n"
        "**The after-sales scorecard.** Each indicator earns points out of its weight; the total out of 100 "
        "gives the grade. Beside the grade: how many targets were met. Every indicator that missed its "
        "target is flagged for root-cause analysis (fishbone, 5 whys); remarks come from the standards file "
        "and from the improvement actions registered for the indicator.\n\n"
        "Indicators with no data for this unit (on-site arrival for a hotline team, say) are *not "
        "applicable*, and the total is rescaled to the weights that apply, so all units share one scale. "
        "An indicator the archive cannot measure at all is *not measured*: it is named, with the reason.",
        "# 评分卡\n\n"
        "**售后服务评分卡。** 每项指标按其权重得分，满分 100 分的总分决定等级；等级旁列出达标指标数。"
        "每项未达标的指标都标记为需根因分析（鱼骨图、5 Why）；备注来自标准文件及针对该指标登记的改进措施。\n\n"
        "本单位没有数据的指标（如热线班组的上门到达）为*不适用*，总分按适用指标的权重折算，使所有单位处于同一尺度。"
        "档案完全无法测量的指标为*未测量*，并注明原因。"),
    "scorecard.total": (
        "## Total score: **{score}** / 100 — grade: **{grade}** — {met} of {judged} targets met",
        "## 综合得分：**{score}** / 100 — 等级：**{grade}** — 达标指标 {met} / {judged}"),
    "scorecard.previous": (
        "(previous period {period}: {score}, {grade}; change {change})",
        "（上期 {period}：{score}，{grade}；变化 {change}）"),
    "scorecard.method": ("Scoring method: {method}.", "计分方法：{method}。"),
    "scorecard.indicators": (
        "## Points by indicator",
        "## 各指标得分"),
    "scorecard.channels": (
        "## Response and handling time per channel\n\n"
        "Phone, chat and e-mail are answered on different clocks, so each channel is held to its own target; "
        "the channels are then combined by their volume (*all channels*).",
        "## 各渠道响应与处理时长\n\n"
        "电话、在线与邮件的响应节奏不同，因此每个渠道按各自目标考核，再按工单量加权合并（*全部渠道*）。"),
    "scorecard.subtotals": (
        "## Dimension subtotals",
        "## 各维度小计"),
    "scorecard.flagged": (
        "## Indicators for root-cause analysis",
        "## 需根因分析的指标"),
    "scorecard.comparison": (
        "## Compared with the previous period",
        "## 与上期对比"),
    # ------------------------------------------------------------ surveys, benchmarks, mystery shopping
    # (issue 15 parts 4-5, h-survey): the scorecard's benchmark and mystery-shopping cells, and the
    # survey sections of the voice-of-customer report (qa_helpers/voc/surveys.py)
    "scorecard.benchmarks": (
        "## Against competitor and industry benchmarks\n\n"
        "The unit's figures of the period beside the benchmarks entered in the config folder (seed 002: the "
        "leading competitor). A benchmark is context, not a target: the scorecard above is scored against "
        "the standards.",
        "## 与竞争对手及行业对标\n\n"
        "本单位本期数值与配置中录入的对标值对照（种子文档 002：头部竞争对手）。对标值只作参照，"
        "不是目标：上方评分卡仍按标准计分。"),
    "scorecard.mystery": (
        "## Mystery shopping\n\n"
        "Visits by mystery shoppers (seed 000: third-party monitoring), each scored on the service standards "
        "of seed 000 — answered in time, standard greeting, plain language, problem resolved, follow-up — as "
        "the share of the items that applied which were met.",
        "## 神秘顾客暗访\n\n"
        "神秘顾客的暗访记录（种子文档 000：第三方监测），每次按种子文档 000 的服务标准评分——及时接通、标准问候语、"
        "通俗易懂、问题解决、主动回访——得分为适用评分项中达标的占比。"),
    "external.no_benchmarks": (
        "No benchmarks: the config folder has no benchmarks file, or it lists none.",
        "无对标值：配置文件夹中没有对标值文件，或文件中没有条目。"),
    "external.benchmark_headline": (
        "**Of {judged} benchmarks this period, the unit is ahead of {ahead}, behind {behind}, and too close to "
        "call on {unclear}.** A share counts as ahead or behind only when its whole 95 % confidence interval "
        "(Wilson) is on that side of the benchmark; any other figure only on {minimum} observations or more.",
        "**本期 {judged} 项对标中，本单位领先 {ahead} 项、落后 {behind} 项，{unclear} 项差距过小无法判断。** "
        "比率类指标仅当其 95 % 置信区间（威尔逊法）整体位于对标值一侧时才判为领先或落后；其他指标须有至少 {minimum} "
        "个观测值。"),
    "external.no_register": (
        "No mystery shopping: the config folder has no mystery-shopping register.",
        "无神秘顾客暗访：配置文件夹中没有神秘顾客暗访登记表。"),
    "external.no_visits": (
        "No mystery-shopping visits to this unit in {period}.",
        "{period} 本单位没有神秘顾客暗访记录。"),
    "external.mystery_met": (
        "**Mystery shopping: {score} of the rubric items met over {visits} visit(s), at or above the target of "
        "{target}.** Weakest item: {item} ({item_share} of the visits where it applied).",
        "**神秘顾客暗访：{visits} 次暗访的评分项达标率为 {score}，达到 {target} 的目标。** 最薄弱项：{item}"
        "（适用访次中 {item_share} 达标）。"),
    "external.mystery_missed": (
        "**Mystery shopping: {score} of the rubric items met over {visits} visit(s), below the target of "
        "{target}.** Weakest item: {item} ({item_share} of the visits where it applied).",
        "**神秘顾客暗访：{visits} 次暗访的评分项达标率为 {score}，未达到 {target} 的目标。** 最薄弱项：{item}"
        "（适用访次中 {item_share} 达标）。"),
    "survey.surveys_title": (
        "## Net Promoter Score\n\n"
        "NPS = % promoters (9–10) − % detractors (0–6), in points, with its 95 % confidence interval; the "
        "change since the previous period is tested (z-test on the two periods' answers).",
        "## 净推荐值（NPS）\n\n"
        "NPS = 推荐者（9–10 分）占比 − 贬损者（0–6 分）占比，单位为分，附 95 % 置信区间；与上期的变化做显著性检验"
        "（两期答卷的正态近似检验）。"),
    "survey.too_few": (
        "Not shown: {n} answer(s), fewer than the {minimum} a figure needs.",
        "未显示：仅 {n} 份答卷，少于所需的 {minimum} 份。"),
    "survey.nps_headline": (
        "**NPS {nps} (95 % CI {low} to {high}; n = {n} answers) against a target of {target}.** Promoters "
        "{promoters}, detractors {detractors}.",
        "**NPS 为 {nps}（95 % CI {low} 至 {high}；n = {n} 份答卷），目标 {target}。** 推荐者 {promoters}，"
        "贬损者 {detractors}。"),
    "survey.nps_change": (
        "Since the previous period: {before} → {after} ({change} points, 95 % CI {low} to {high}, p = {p}; "
        "n = {n_before} answers before): {verdict}.",
        "较上期：{before} → {after}（变化 {change} 分，95 % CI {low} 至 {high}，p = {p}；上期 n = {n_before} "
        "份答卷）：{verdict}。"),
    # -- survey review fixes (h-fixsv): a change is not compared on too few answers before
    "survey.nps_not_compared": (
        "Not compared with {period}: too few answers in {period} (n = {n}, fewer than the {minimum} a "
        "comparison needs).",
        "未与 {period} 比较：{period} 答卷过少（n = {n}，少于比较所需的 {minimum} 份）。"),
    "survey.response_title": (
        "## Who answers: response rates and the weighted CSAT\n\n"
        "Not every customer answers, and some groups answer less often than others (seed 002: enterprise "
        "customers are less satisfied). The raw CSAT over-represents the groups that answer; the weighted "
        "CSAT gives each answer the weight tickets / answers of its customer type and channel, as if every "
        "group had answered alike.",
        "## 谁在作答：回收率与加权满意度\n\n"
        "并非每位客户都会作答，且各群体的作答率不同（种子文档 002：企业客户满意度较低）。原始满意度会偏向作答多的群体；"
        "加权满意度按客户类型 × 渠道给每份答卷“工单数 / 答卷数”的权重，相当于各群体作答率相同时的结果。"),
    "survey.weighted_csat": (
        "**CSAT {raw} as answered (n = {n_raw}); {weighted} weighted for non-response (95 % CI {low} to "
        "{high}; n = {n_weighted} answers standing for {tickets} tickets), {change} pp.**",
        "**按答卷计算的满意度为 {raw}（n = {n_raw}）；按未作答加权后为 {weighted}（95 % CI {low} 至 {high}；"
        "n = {n_weighted} 份答卷，代表 {tickets} 张工单），相差 {change} pp。**"),
    "survey.response_gap": (
        "Enterprise customers answered {enterprise} of their tickets' surveys, individual customers {individual}.",
        "企业客户的问卷回收率为 {enterprise}，个人客户为 {individual}。"),
    "survey.questionnaire_title": (
        "## The questionnaire: reliability and key drivers\n\n"
        "When the survey asks several questions (speed, attitude, problem resolved, professionalism), "
        "Cronbach's α says whether they measure one thing consistently (seed 002: 0.9 or more), and the "
        "key-driver table says which of them moves overall satisfaction most.",
        "## 问卷：信度与关键驱动因素\n\n"
        "问卷包含多个题项（响应速度、服务态度、问题解决、专业程度）时，克隆巴赫 α 系数衡量各题项是否一致地测量同一事物"
        "（种子文档 002：0.9 以上）；关键驱动因素表说明哪一题项对总体满意度影响最大。"),
    "survey.no_items": (
        "Not measured: the surveys have no sub-scores (speed, attitude, problem resolved, professionalism); "
        "map them in the sources' configuration to see reliability and key drivers.",
        "未测量：问卷没有分项评分（响应速度、服务态度、问题解决、专业程度）；在数据源配置中映射后即可查看信度与关键驱动因素。"),
    "survey.alpha_meets": (
        "**Reliability: α = {alpha} (95 % CI {low} to {high}; {items} items, n = {n}) — at or above {bar} "
        "even at the interval's lower end.**",
        "**信度：α = {alpha}（95 % CI {low} 至 {high}；{items} 个题项，n = {n}）——即使取区间下限也达到 {bar}。**"),
    "survey.alpha_near": (
        "**Reliability: α = {alpha} (95 % CI {low} to {high}; {items} items, n = {n}) — at {bar} or above, "
        "but the interval reaches below it.**",
        "**信度：α = {alpha}（95 % CI {low} 至 {high}；{items} 个题项，n = {n}）——达到 {bar}，但区间下限低于该值。**"),
    "survey.alpha_below": (
        "**Reliability: α = {alpha} (95 % CI {low} to {high}; {items} items, n = {n}) — below the {bar} "
        "seed 002 asks for.** The items agree, but not as closely as a questionnaire used to judge units "
        "should; review the questions before comparing teams on them.",
        "**信度：α = {alpha}（95 % CI {low} 至 {high}；{items} 个题项，n = {n}）——低于种子文档 002 要求的 {bar}**。"
        "各题项有一致性，但尚不足以用于评判单位；用其比较班组前请先复核题目。"),
    "survey.drivers": (
        "**{item} explains most of overall CSAT: {share} of the explained variance (the items together "
        "explain {r2}; n = {n} answers).** Standardised β: the change in CSAT, in standard deviations, per "
        "standard deviation of the item with the others held fixed; share: general dominance weights.",
        "**{item} 对总体满意度的解释力最强：占已解释方差的 {share}（各题项合计解释 {r2}；n = {n} 份答卷）。** "
        "标准化系数 β：其他题项不变时，该题项每变化一个标准差，满意度变化的标准差数；占比为一般优势权重。"),
    "survey.sample_title": (
        "## Next period's survey sample\n\n"
        "Seed 002 prescribes stratified random sampling. The sample below is sized so that CSAT is known "
        "within the stated margin, split across customer type × channel in proportion to the tickets, and "
        "inflated by each group's response rate into invitations. A group with fewer than 30 answers this "
        "period is planned at the worst case (50 % satisfied), not at its own few answers' CSAT.",
        "## 下期问卷抽样\n\n"
        "种子文档 002 规定采用分层随机抽样。下表的样本量使满意度的误差在给定范围内，按客户类型 × 渠道依工单量比例分配，"
        "并按各群体的回收率折算为邀请数。本期答卷少于 30 份的组按最不利情形（满意度 50 %）规划，而非按其少量答卷的满意度。"),
    "survey.sample_plan": (
        "**To know CSAT within ± {margin} at {confidence} confidence: {answers} answers, i.e. {invitations} "
        "invitations, drawn at random within each group of this period's {tickets} tickets.**",
        "**要使满意度误差在 ± {margin} 以内（置信度 {confidence}）：需 {answers} 份答卷，即从本期 {tickets} "
        "张工单中按组随机抽取 {invitations} 个邀请。**"),
    "survey.sample_short": (
        "In {groups} group(s) even inviting every ticket is not expected to give the answers needed at the "
        "group's response rate: pool those groups over a longer period, or remind non-responders.",
        "有 {groups} 个组即使邀请全部工单，按其回收率也难以获得所需答卷：可合并更长期间的工单，或对未作答者发送提醒。"),
    # ---- root cause (issue 14 part 4): problem types, severity × frequency, 5-Why records, case reviews
    "rootcause.types": (
        "## Complaints by problem type\n\n"
        "Each complaint is classified by problem type (slow response, poor attitude, not fully resolved …), "
        "apart from its business category, and given the department responsible: from the export when it "
        "records the type, else from the words of the (masked) complaint text, else from its category, "
        "using the topic dictionary.",
        "## 投诉问题类型\n\n"
        "每条投诉按问题类型（响应慢、态度差、解决不彻底……）分类，与业务类别分开，并确定责任部门："
        "导出数据记录了类型时按数据，否则按（已脱敏的）投诉内容中的关键词，再否则按其业务类别，均依据主题词典。"),
    "rootcause.types_headline": (
        "**{type}** is the largest problem type: {share} of {n} complaints; {vital} of {types} types make up "
        "80 % of them.",
        "**{type}** 是最大的问题类型：占 {n} 条投诉的 {share}；{types} 类中的 {vital} 类占全部投诉的 80 %。"),
    "rootcause.assigned": (
        "Assigned from the export: {data}; from the text: {text}; from the category: {category}; unclassified: {none}.",
        "按导出数据分类：{data} 条；按投诉内容：{text} 条；按业务类别：{category} 条；未分类：{none} 条。"),
    "rootcause.no_complaints": (
        "No complaints for this unit in this period.",
        "本单位本期没有投诉。"),
    "rootcause.matrix": (
        "## Problem classes: type × severity × frequency\n\n"
        "Complaints per problem type by severity (1 major … 4 minor) and how often the type occurs. Frequent "
        "problems (10 % of complaints or more) call for a dedicated improvement plan; occasional ones for "
        "closer monitoring and case-by-case handling.",
        "## 问题分级：类型 × 严重程度 × 出现频率\n\n"
        "各问题类型的投诉按严重程度（一级重大……四级轻微）统计，并看其出现频率。经常出现的问题（占投诉 10 % 及以上）"
        "需设立专项改进计划；偶尔出现的问题则加强监控与应急处理。"),
    "rootcause.matrix_headline": (
        "{k} of {m} problem types are frequent and call for a dedicated improvement plan: {types}.",
        "{m} 类问题中有 {k} 类经常出现，需设立专项改进计划：{types}。"),
    "rootcause.records": (
        "## Root causes of the flagged indicators\n\n"
        "For each indicator flagged above: the root cause recorded for it — the fishbone dimension (people, "
        "process, tools, environment), the 5-Why chain, the evidence and the action that answers it.",
        "## 标记指标的根本原因\n\n"
        "上文标记的每项指标的根因记录：鱼骨图维度（人员、流程、工具、环境）、5Why 分析链、证据及对应措施。"),
    "rootcause.records_headline": (
        "Root causes recorded for {k} of {m} flagged indicators.",
        "{m} 项标记指标中有 {k} 项已记录根本原因。"),
    "rootcause.no_record": (
        "**No root-cause record yet:** {indicators}.",
        "**尚无根因记录：** {indicators}。"),
    "rootcause.nothing_flagged": (
        "No indicator is flagged for root-cause analysis this period.",
        "本期没有需根因分析的指标。"),
    "rootcause.cases": (
        "## Case reviews\n\n"
        "Selected complaints reviewed with the case review template: background, problem, handling, result "
        "and impact (and lessons), as the reviewers wrote them.",
        "## 案例回溯\n\n"
        "按案例回溯模板分析的典型投诉：案例背景、问题描述、处理过程、结果及影响（及经验教训），按回溯人员的记录展示。"),
    "rootcause.case_title": (
        "### Case {case} {title}\n\n{facts}",
        "### 案例 {case} {title}\n\n{facts}"),
    "rootcause.no_cases": (
        "No case reviews are recorded.",
        "尚未记录案例回溯。"),
    "rootcause.no_cases_here": (
        "No reviewed case is a complaint of this unit in this period ({k} reviewed).",
        "已回溯的 {k} 个案例均不是本单位本期的投诉。"),
    # ------------------------------------------------------------ 5 action plan
    "actions.title": (
        "# Action plan\n\n"
        "**Step 4 of the quality loop.** The improvement register for this unit: each action's problem, "
        "measure, owner, due date, resources and status; the actions that are overdue; and each acceptance "
        "criterion checked against the KPIs measured since the action started — *met*, *not met*, or *not "
        "yet measurable*. The statistical before/after evaluation of each action is in the before/after "
        "report.",
        "# 改进计划\n\n"
        "**质量闭环第 4 步。** 本单位的改进措施登记表：每项措施的问题、措施、负责人、截止日期、资源与状态；"
        "已逾期的措施；以及每条验收标准与措施开始以来实测 KPI 的对照——*已达成*、*未达成*或*尚无法测量*。"
        "各措施效果的统计检验见前后对比报告。"),
    "actions.register": (
        "## The register",
        "## 措施登记表"),
    "actions.overdue": (
        "## Overdue\n\n"
        "Open actions (planned or in progress) whose due date has passed by the end of the period.",
        "## 已逾期\n\n"
        "截至期末已过截止日期、仍未完成（计划中或进行中）的措施。"),
    "actions.acceptance": (
        "## Acceptance criteria against measured KPIs\n\n"
        "Measured for the action's teams (and channels, where the action is limited to some) from its start "
        "to the end of this period. A criterion on a KPI the archive cannot measure says so.",
        "## 验收标准与实测 KPI 对照\n\n"
        "按措施涉及的班组（以及限定的渠道）统计，从措施开始至本期期末。档案无法测量的 KPI 会注明。"),
    # ---- action governance (issue 14 part 3): gaps with no action, done but not accepted, slipping
    "governance.gaps": (
        "## Gaps with no action\n\n"
        "The indicators this period's scorecard flags for root-cause analysis, team by team, and the open or "
        "planned actions that address them (the indicators an action names in the register, else its "
        "acceptance criteria). A flagged indicator that only a done or cancelled action addressed has no action.",
        "## 无措施覆盖的差距\n\n"
        "本期评分卡标记为需根因分析的指标（按班组），以及针对这些指标的计划中或进行中的措施"
        "（措施在登记表中注明所针对的指标，未注明时按其验收标准）。仅有已完成或已取消措施针对的指标视为无措施。"),
    "governance.gap_headline": (
        "**{unit}** misses its targets for {indicators}, and no open or planned action addresses them ({k} gaps).",
        "**{unit}** 的{indicators}未达标，且没有计划中或进行中的措施针对这些指标（{k} 项差距）。"),
    "governance.gap_headline_one": (
        "**{unit}** misses its target for {indicators}, and no open or planned action addresses it.",
        "**{unit}** 的{indicators}未达标，且没有计划中或进行中的措施针对该指标。"),
    "governance.gap_count": (
        "{k} of {m} flagged gaps, in {units} teams, have no open or planned action.",
        "{m} 项标记的差距中有 {k} 项（涉及 {units} 个班组）没有计划中或进行中的措施。"),
    "governance.off_target": (
        "**{action}** addresses only {indicators}, which the scorecard does not flag for {teams}: it covers none "
        "of their gaps.",
        "**{action}** 仅针对{indicators}，而 {teams} 的评分卡并未标记该指标：该措施未覆盖任何差距。"),
    "governance.every_gap_addressed": (
        "Each of the {k} flagged gaps has an open or planned action.",
        "标记的 {k} 项差距均有计划中或进行中的措施。"),
    "governance.no_gaps": (
        "The scorecard flags no indicator this period: there is no gap to cover.",
        "本期评分卡未标记任何指标，没有需要覆盖的差距。"),
    "governance.not_accepted": (
        "## Done but not accepted\n\n"
        "Actions marked done whose acceptance criteria, measured from the action's start to the end of this "
        "period, were not met, or could not be judged (and why).",
        "## 已完成但未通过验收\n\n"
        "标记为已完成、但其验收标准（从措施开始至本期期末实测）未达成或无法判定（并注明原因）的措施。"),
    "governance.done_not_met": (
        "**Done but not accepted:** {actions} — an acceptance criterion was not met.",
        "**已完成但未通过验收：** {actions}——有验收标准未达成。"),
    "governance.done_not_judged": (
        "**Done, acceptance not shown:** {actions} — an acceptance criterion could not be judged.",
        "**已完成但验收无法判定：** {actions}——有验收标准无法判定。"),
    "governance.all_done_accepted": (
        "All {k} actions marked done met their acceptance criteria.",
        "标记为已完成的 {k} 项措施均达到验收标准。"),
    "governance.none_done": (
        "No action of this unit is marked done.",
        "本单位没有标记为已完成的措施。"),
    "governance.slipping": (
        "## Overdue and slipping\n\n"
        "Open actions past their due date, or whose latest weekly progress note is amber or red, with that "
        "note and the reason for slippage (the weekly progress meeting). ● Green: on plan; ● Amber: at risk; "
        "● Red: off plan.",
        "## 逾期与进度滞后\n\n"
        "已过截止日期、或最近一次周进度记录为黄灯或红灯的进行中措施，附该记录及滞后原因（每周进度会议）。"
        "● 绿：按计划推进；● 黄：有风险；● 红：偏离计划。"),
    "governance.slipping_headline": (
        "**{k} of {m} open actions are overdue or slipping.**",
        "**{m} 项进行中或计划中的措施中有 {k} 项逾期或滞后。**"),
    "governance.none_slipping": (
        "Open or planned actions: {m}; none is overdue or slipping.",
        "进行中或计划中的措施：{m} 项，均未逾期或滞后。"),
    "governance.no_notes": (
        "Open actions without any weekly progress note yet: {k}.",
        "尚无周进度记录的措施：{k} 项。"),
    "governance.on_track": (
        "Other open actions, neither overdue nor slipping: {k}.",
        "其余未逾期、未滞后的措施：{k} 项。"),
    "governance.nothing_open": (
        "No open or planned actions to follow.",
        "没有需要跟进的计划中或进行中的措施。"),
    # ------------------------------------------------------------ 6 monitoring
    "monitoring.title": (
        "# Monitoring\n\n"
        "**Step 5 of the quality loop.** Threshold alerts from the standards (weekly, per team or channel), "
        "agents due for one-to-one coaching (below 80 % CSAT three weeks in a row) — told apart from "
        "problems of a whole team — and control charts that separate real shifts from week-to-week noise: "
        "a p-chart for satisfaction and resolution (limits widen when fewer answers came in) and an XmR "
        "chart for response times, with rule violations marked. The limits come from the previous period, "
        "so this period is judged against how the process used to behave.",
        "# 过程监控\n\n"
        "**质量闭环第 5 步。** 依据标准的阈值预警（按周，按班组或渠道）；需要一对一辅导的客服"
        "（连续三周满意度低于 80 %），并与班组整体问题区分开；以及区分真实变化与周间波动的控制图："
        "满意度与一次解决率用 p 图（回答越少，控制限越宽），响应时长用 XmR 图（单值-移动极差图），"
        "并标出违反判异规则的点。控制限取自上期，即以过程过去的表现来评判本期。"),
    "monitoring.alerts": (
        "## Threshold alerts\n\n"
        "One row per alert, not per week: weeks in which a rule fired for the same group, at most one quiet "
        "week apart, are one alert with its start, the weeks it has been open and the observations behind "
        "it. *Chronic*: open four weeks or more; *recurring*: it fired earlier in the period, stopped, and "
        "fired again; *new* otherwise. Severity is how far the value is below its threshold (high: 10 % or "
        "more of the threshold, medium: 5 %). Only whole weeks inside the period are judged; partial weeks "
        "and weeks with too few observations are listed below the table.",
        "## 阈值预警\n\n"
        "每条预警一行，而不是每周一行：同一规则、同一对象触发的各周，中间最多间隔一周未触发的，合并为一条预警，"
        "列出起始周、持续周数及样本量。*持续*：持续四周或以上；*复发*：本期内曾触发、停止后再次触发；其余为*新发*。"
        "严重程度按低于阈值的幅度划分（高：低于阈值 10 % 或以上，中：5 %）。只评判期内的完整周；"
        "不完整的周和样本不足的周列于表下。"),
    "monitoring.coaching": (
        "## One-to-one coaching or a team problem?\n\n"
        "The rule (an agent below 80 % CSAT three weeks in a row) screens every agent every week, so chance "
        "alone makes runs. A run becomes a **one-to-one** case only when, over the run's weeks, the agent had "
        "enough answers, was below the rest of the team beyond chance (exact test, corrected for the number "
        "of agents screened) and is still under 80 % once the agent's CSAT is shrunk towards the team's "
        "(few answers, more shrinkage). When the whole team is below its CSAT target, runs that do not "
        "stand out from the team are **team-level**: coaching one agent would not fix them.",
        "## 一对一辅导还是班组问题？\n\n"
        "该规则（客服满意度连续三周低于 80 %）每周筛查每位客服，仅凭偶然也会出现连续低分。只有同时满足以下条件，"
        "才判定为**一对一辅导**：连续期间回答数足够；低于班组其他人且超出偶然范围（精确检验，并按筛查人数校正）；"
        "将其满意度向班组水平收缩后（回答越少收缩越多）仍低于 80 %。当整个班组低于满意度目标时，"
        "与班组无明显差异的连续低分属于**班组整体问题**：辅导个人无法解决。"),
    "monitoring.charts": (
        "## Control charts\n\n"
        "Limits from the previous period (the baseline), applied to both periods. A marked point broke a "
        "rule: beyond 3 σ, 2 of 3 beyond 2 σ, 4 of 5 beyond 1 σ, or 8 in a row on one side.",
        "## 控制图\n\n"
        "控制限取自上期（基线），并应用于两期。标记的点违反了判异规则：超出 3 σ、3 点中有 2 点超出 2 σ、"
        "5 点中有 4 点超出 1 σ，或连续 8 点位于中心线同侧。"),
    "monitoring.progress": (
        "## Progress of open actions\n\n"
        "Weekly values of each open action's metrics since it started, against its acceptance target.",
        "## 进行中措施的进展\n\n"
        "每项进行中措施的指标自开始以来的周数值，与其验收目标对比。"),
    # ------------------------------------------------------------ issue 14: coaching log, training and QA programme
    "people.coaching_log": (
        "## Coaching log\n\n"
        "The one-to-one sessions the QA team recorded in its coaching register: who coached whom, when, on what, "
        "the action agreed and when it is followed up. A follow-up is *overdue* when its date passed without one. "
        "A one-to-one case of this period (above) with no session for that agent since the case began was "
        "**never coached**.",
        "## 辅导记录\n\n"
        "质检团队在辅导登记表中记录的一对一辅导：谁辅导了谁、何时、主题、约定的改进行动以及回访日期。"
        "回访日期已过而未回访即为*逾期*。本期的一对一辅导对象（见上文）如自触发以来没有任何辅导记录，即为**从未辅导**。"),
    "people.no_coaching_register": (
        "No coaching register: sessions, follow-ups and cases never coached are not tracked (the config folder has "
        "no {file}).",
        "没有辅导登记表：无法跟踪辅导记录、回访以及从未辅导的对象（配置目录中没有 {file}）。"),
    "people.unknown_agents": (
        "Left out: {count} row(s) of {file} name agents the archive's roster does not have: {agents}.",
        "已剔除：{file} 中有 {count} 行的客服工号不在档案的人员名单中：{agents}。"),
    "people.log_line": (
        "**{held}** sessions held up to {end}: follow-up done for {done}, pending for {pending}, **overdue for "
        "{overdue}**. One-to-one cases of this period never coached: **{never}** of {cases}.",
        "截至 {end} 共进行 **{held}** 次辅导：已回访 {done} 次，待回访 {pending} 次，**逾期未回访 {overdue} 次**。"
        "本期一对一辅导对象中从未辅导：{cases} 人中 **{never}** 人。"),
    "people.todo": (
        "Follow-ups still to do (pending or overdue):",
        "尚待回访（待回访或已逾期）："),
    "people.never": (
        "One-to-one cases of this period with no session since the case began:",
        "本期自触发以来没有辅导记录的一对一辅导对象："),
    "people.no_sessions": (
        "No coaching session of this unit is registered up to the end of the period.",
        "截至期末，登记表中没有本单位的辅导记录。"),
    "people.coaching_effect": (
        "## Did the coaching work?\n\n"
        "For each session in the coaching register: the coached agent's KPI (CSAT unless the session names "
        "another) in the weeks before the session against the weeks after it, compared with the same change for "
        "the team-mates who were not coached in those weeks — so a change the whole team went through (a season, "
        "a team-wide action) is not credited to the coaching.",
        "## 辅导是否见效？\n\n"
        "对登记表中的每次辅导：被辅导客服在辅导前几周与辅导后几周的 KPI（默认为满意度，除非该次辅导另行指定），"
        "并与同期未接受辅导的同班组同事的变化相比较——全班组共同经历的变化（季节、全班组措施）不会被算作辅导的效果。"),
    "people.effect_line": (
        "**{worked} of {sessions} sessions worked**; {worse} got worse, {none} showed no detectable effect, "
        "{few} had too few tickets to tell, {early} too early to tell (the after-window has not ended).",
        "**{sessions} 次辅导中 {worked} 次见效**；{worse} 次变差，{none} 次未发现可检测的效果，"
        "{few} 次工单太少无法判断，{early} 次为时尚早（辅导后的观察期尚未结束）。"),
    "people.effect_method": (
        "Windows: {weeks_before} whole weeks before and {weeks_after} from the session. *Change beyond team-mates*: "
        "difference-in-differences of the agent against the uncoached team-mates. For a share (CSAT, FCR): an "
        "Agresti–Caffo interval (one satisfied and one unsatisfied answer added to each of the agent's windows), "
        "without week effects, the team-mates' variance clustered by agent; for a duration or a rate: a regression "
        "with week effects, each answer on its own. The interval is adjusted (Holm) across the sessions listed. "
        "*Too few tickets to "
        "tell*: under {min_answers} answers in a window, or an interval still wide enough to hold a real change.",
        "观察期：辅导前 {weeks_before} 个完整周、辅导起 {weeks_after} 个完整周。*超出同事的变化*：该客服相对未受辅导同事的"
        "双重差分。比率类指标（满意度、首次解决率）：加一校正区间（阿格雷斯蒂–卡福法：该客服每个观察期各加一条满意、一条不满意的回答），"
        "不含周效应，同事的方差按客服聚类；时长或频率类指标：含周效应的回归，每条回答单独计。其区间对所列各次辅导做 Holm "
        "校正。*工单太少无法判断*："
        "某一观察期回答少于 {min_answers} 条，或区间仍宽到可能包含真实变化。"),
    "people.training_effect": (
        "## Did the training work?\n\n"
        "For each course whose after-window has ended: the trainees' KPIs before and after the course date, "
        "against the agents of the same department who did not take it (difference-in-differences, errors "
        "clustered on agents, Holm across the rows). A course that is part of an action is also evaluated as "
        "that action above, against its control team.",
        "## 培训是否见效？\n\n"
        "对观察期已结束的每门课程：学员在开课日期前后的 KPI，与同部门未参加该课程的客服相比较（双重差分，"
        "按客服聚类计算误差，对各行做 Holm 校正）。属于某项改进措施的课程，也已作为该措施在上文与对照班组比较。"),
    "people.training_line": (
        "{improved} of {rows} course × KPI results improved beyond the untrained agents ({courses} course(s)).",
        "{rows} 个课程 × KPI 结果中有 {improved} 个相对未参训客服有改善（共 {courses} 门课程）。"),
    "people.training_method": (
        "Windows: {weeks_before} whole weeks before and {weeks_after} from the course date.",
        "观察期：开课前 {weeks_before} 个完整周、开课起 {weeks_after} 个完整周。"),
    "people.no_training": (
        "No training records: training hours, pass and certification rates are not measured (the config folder "
        "has no {file}).",
        "没有培训记录：无法统计培训时长、考核合格率和持证率（配置目录中没有 {file}）。"),
    "people.no_course_ready": (
        "No course of this unit has reached the end of its after-window by the end of the period.",
        "截至期末，本单位没有观察期已结束的课程。"),
    "people.programme": (
        "## Training and QA programme\n\n"
        "Training of the year so far from the training records (scenario-test pass rate, hours per agent, "
        "certified agents — an agent with no certification record counts as not certified) and the QA programme "
        "of the period (share of reviews passed, share of tickets reviewed), each against its target in the "
        "standards.",
        "## 培训与质检计划\n\n"
        "本年度截至目前的培训情况，取自培训记录（情景模拟考核合格率、人均培训时长、持证率——没有认证记录的客服按未持证计），"
        "以及本期质检情况（质检合格率、质检覆盖率），均与标准中的目标对比。"),
    "people.programme_training": (
        "**Training ({year} to date):** scenario-test pass rate **{rate}** over {tested} tests against "
        "a target of {target} — {met}; {hours} training hours per agent against {hours_target} — {hours_met}; "
        "certified agents **{certified}** of {agents} against {cert_target} — {cert_met}.",
        "**培训（{year} 年至今）：** 情景模拟考核合格率 **{rate}**（共 {tested} 人次参加考核），目标 {target}——{met}；"
        "人均培训 {hours} 小时，目标 {hours_target}——{hours_met}；持证率 **{certified}**（{agents} 名客服），"
        "目标 {cert_target}——{cert_met}。"),
    "people.programme_qa": (
        "**QA this period:** pass rate **{rate}** of {reviews} reviews (no critical fail and a quality score of "
        "{mark} or more) against {target} — {met}; QA coverage **{coverage}** of {tickets} tickets against "
        "{coverage_target} — {coverage_met}.",
        "**本期质检：** 合格率 **{rate}**（{reviews} 条质检；无致命错误且质检得分不低于 {mark}），目标 {target}——{met}；"
        "质检覆盖率 **{coverage}**（{tickets} 张工单），目标 {coverage_target}——{coverage_met}。"),
    "people.courses": (
        "Courses of the year so far:",
        "本年度至今的课程："),
    # ------------------------------------------------------------ 6 monitoring: lines in sections
    "monitoring.partial_weeks": (
        "Partial weeks, not judged (only part of the week lies in the period or has data): {weeks}.",
        "不完整的周，未评判（该周只有部分日期在本期内或有数据）：{weeks}。"),
    "monitoring.more": (" and {count} more", " 等，另有 {count} 个"),
    "monitoring.too_few": (
        "Not judged, too few observations: {kpi} per {group_by} and week, {count} group-weeks: {examples}.",
        "样本不足，未评判：{kpi}（按{group_by}、按周），共 {count} 个对象周：{examples}。"),
    "monitoring.rule_not_judged": (
        "Not judged: {kpi} per {group_by} and week ({reason}).",
        "未评判：{kpi}（按{group_by}、按周）（{reason}）。"),
    "monitoring.no_alerts": (
        "No alert fired in a whole week of this period.",
        "本期的完整周内未触发任何预警。"),
    "monitoring.coaching_not_assessed": (
        "Coaching not assessed: {reason} (the rule needs agents and their CSAT).",
        "未评估辅导：{reason}（该规则需要客服工号及其满意度）。"),
    "monitoring.team_line": (
        "**{team}**: CSAT {csat} (n = {n}, {low}–{high}) against a target of {target}.",
        "**{team}**：满意度 {csat}（n = {n}，{low}–{high}），目标 {target}。"),
    "monitoring.team_below": (
        "The whole team is below target: a team-level remedy (process, tools, training for everyone); {quiet} of "
        "{runs} agents with a run do not stand out from the team.",
        "整个班组低于目标：需采取班组层面的措施（流程、工具、全员培训）；在 {runs} 名出现连续低分的客服中，"
        "有 {quiet} 名与班组无明显差异。"),
    "monitoring.team_at_target": (
        "At or near target: remedies are individual.",
        "达到或接近目标：改进措施针对个人。"),
    "monitoring.team_one_to_one": (
        "One-to-one coaching: {cases} of {agents} agents.",
        "一对一辅导：{agents} 名客服中 {cases} 名。"),
    "monitoring.no_runs": (
        "No agent met the coaching rule (three weeks in a row under the threshold) in this period.",
        "本期没有客服触发辅导规则（连续三周低于阈值）。"),
    "monitoring.chart_not_drawn": (
        "{kpi} chart not drawn: {reason}.",
        "未绘制{kpi}控制图：{reason}。"),
    "monitoring.p_chart_title": ("p-chart: {kpi}, weekly", "p 图：{kpi}（按周）"),
    "monitoring.xmr_chart_title": ("XmR chart: {kpi}, weekly", "XmR 图：{kpi}（按周）"),
    "monitoring.no_violations": (
        "No rule violations on the control charts.",
        "控制图上没有违反判异规则的点。"),
    "monitoring.no_actions": (
        "No actions registered: there is no progress to follow.",
        "没有登记改进措施：无进展可跟踪。"),
    "monitoring.no_open_actions": (
        "No open action has started yet for this unit.",
        "本单位尚无已开始且未完成的措施。"),
    "monitoring.metric_not_followed": (
        "{action}: {kpi} not followed: {reason}.",
        "{action}：未跟踪{kpi}：{reason}。"),
    "monitoring.progress_title": ("{action}: {kpi} since {start}", "{action}：{kpi}（自 {start} 起）"),
    # ------------------------------------------------------------ 5 action plan: lines
    "actions.none_registered": (
        "No actions registered: the action register lists none, so there is nothing to track.",
        "没有登记改进措施：措施登记表为空，无可跟踪的内容。"),
    "actions.none_for_archive": (
        "No registered action covers this archive's teams.",
        "没有覆盖本档案班组的已登记措施。"),
    "actions.none_for_unit": (
        "No improvement actions cover this unit.",
        "没有覆盖本单位的改进措施。"),
    "actions.nothing_to_list": ("No actions to list.", "没有可列出的措施。"),
    "actions.nothing_overdue": ("Nothing is overdue.", "没有逾期的措施。"),
    "actions.no_criteria": ("No criteria to check.", "没有需要核对的验收标准。"),
    "actions.left_out": (
        "{action}: left out, it names team(s) this archive does not have ({teams}).",
        "{action}：未纳入，其涉及的班组不在本档案中（{teams}）。"),
    # ------------------------------------------------------------ headlines
    "headline.title": ("### At a glance", "### 要点"),
    "headline.previous": ("Change since {period}", "较 {period} 变化"),
}


# The KPI formulas in Chinese; the English ones are the KPI functions' docstrings (measures/kpis.py).
KPI_FORMULAS_ZH: dict[str, str] = {
    "csat": "满意度（前两项）= 评分为 4 或 5 的问卷回答 / 全部问卷回答。网络评价不是问卷，不计入。",
    "csat_mean": "满意度平均分 = Σ 评分 / 问卷回答数（1–5 分制），与前两项占比并列显示。",
    "nps": "NPS = 推荐者（9–10 分）占比 − 贬损者（0–6 分）占比，仅计有推荐评分的回答，单位为分（−100 至 100）。",
    "fcr": "一次解决率 = 首次接触即解决的工单 / 记录了首次接触结果的工单。",
    "avg_first_response_s": "平均首次响应时长 = Σ 首次响应时长 / 有首次响应的工单数，单位为秒。",
    "median_first_response_s": "首次响应时长中位数 = 工单首次响应时长的中间值，单位为秒：不受拉高平均值的长尾影响。",
    "aht_s": "平均处理时长 = Σ 处理时长 / 有处理时长的工单数，单位为秒。",
    "response_on_time": "客服响应及时率 = 在所属渠道时限内首次响应的工单 / 设有首次响应时限的渠道中有首次响应的工单。",
    "onsite_arrival_on_time": "上门服务到达及时率 = 工程师在约定时间前到达的上门服务 / 记录了到达时间的上门服务。",
    "solution_accuracy": "技术方案准确率 = 无需返工的上门服务 / 记录了结果的上门服务。",
    "process_compliance": "服务流程合规率 = 质检中符合标准流程的会话 / 质检会话（不含校准复评）。",
    "complaint_24h": "投诉处理及时率 = 在规定时限内首次答复的投诉 / 全部投诉（未答复视为超时）。",
    "reopen_rate": "重开率 = 关闭后被重开的工单 / 记录了重开标记的工单（重复来电的信号）。",
    "complaints_per_1000": "千单投诉量 = 同一分组内收到的投诉数 / 创建的工单数 × 1 000。",
    "workload_per_agent": "人均周工单量 = 工单数 / 客服工作周数（客服在某周有工单即计一个工作周），周、月、季度可比。",
    "resolution_time_s": "解决时长中位数 = 已解决工单（解决时间 − 创建时间）的中位数，单位为秒：不受少数耗时数天的工单影响。",
    "resolved_within_sla": "按时解决率 = 在其优先级的解决时限内（默认 48 h）解决的工单 / 全部工单（未解决视为超时）。",
}

TABLES_ZH = {"tickets": "工单", "surveys": "问卷", "complaints": "投诉", "field visits": "上门服务",
             "QA reviews": "质检", "roster (agents)": "客服名册"}
REASONS_ZH = [
    (re.compile(r"^no (.+) table in the archive$"), lambda m: f"档案中没有{TABLES_ZH.get(m[1], m[1])}表"),
    (re.compile(r"^the (.+) have no (.+?) fields?$"),
     lambda m: f"{TABLES_ZH.get(m[1], m[1])}缺少字段 {m[2].replace(' and ', '、').replace(', ', '、')}"),
    (re.compile(r"^no channel has a first-response SLA$"), lambda m: "没有渠道设定首次响应时限"),
    (re.compile(r"^no data for this unit and period$"), lambda m: "本单位本期没有数据"),
    (re.compile(r"^n < (\d+) \(n = (\d+)\)$"), lambda m: f"样本量不足 {m[1]}（n = {m[2]}）"),
    (re.compile(r"^no target in the standards$"), lambda m: "标准中未设目标"),
    (re.compile(r"^no panel scores for this unit and period$"), lambda m: "本单位本期没有评审打分"),
    (re.compile(r"^scored over (\S+) of (\S+) points: (.+)$"),
     lambda m: f"按 {m[2]} 分中的 {m[1]} 分计分：" + "，".join(reason(part, "zh") for part in m[3].split(", "))),
    (re.compile(r"^(\d+) indicators? not measured$"), lambda m: f"{m[1]} 项指标未测量"),
    (re.compile(r"^(\d+) indicators? without data scored 0$"), lambda m: f"{m[1]} 项无数据的指标计 0 分"),
    (re.compile(r"^every indicator measured$"), lambda m: "所有指标均已测量"),
    (re.compile(r"^(.+): scored 0 \(not_applicable: zero\)$"), lambda m: f"{reason(m[1], 'zh')}：计 0 分"),
]


def reason(text: str, language: str = "en") -> str:
    """Why something is not measured, in ``language``: the kit's reasons ("no complaints table in the
    archive", "the tickets have no channel field"), each part of a "; "-joined list translated."""
    if language != "zh" or not text:
        return text
    parts = []
    for part in text.split("; "):
        for pattern, words in REASONS_ZH:
            found = pattern.match(part)
            if found:
                parts.append(words(found))
                break
        else:
            parts.append(part)
    return "；".join(parts)


def say(key: str, language: str = "en", **values) -> str:
    """A section's text in ``language`` as Markdown, with ``values`` (HTML-escaped) filled in.

    Parameters
    ----------
    key : str
        ``"<notebook>.<section>"``, e.g. ``"kpi.pareto"``.
    language : {"en", "zh"}
        The reader's language (English when unknown).
    **values
        Values for the text's ``{placeholders}``; user-controlled text is escaped.

    Returns
    -------
    Said
        Markdown.
    """
    pair = NARRATIVE[key]
    text = pair[LANGUAGES.index(language)] if language in LANGUAGES else pair[0]
    return Said(text.format(**{name: _escaped(value) for name, value in values.items()}) if values else text)


class Said(str):
    """Markdown from the catalogue whose values were escaped when filled in: safe to show as it is."""


class Verbatim(str):
    """Text a user wrote (a source note, a remark): shown as written, in whatever language, and marked
    ``class="verbatim"`` so that a language check tells it from the kit's own words."""


def verbatim(text: str) -> Said:
    """``text`` as written (escaped, marked ``class="verbatim"``), ready to put in a line of Markdown."""
    return Said(_escaped(Verbatim(text)))


def _escaped(value) -> str:
    if isinstance(value, Said):  # a sentence said earlier, its values already escaped
        return str(value)
    text = markdown_text(value)
    return f'<span class="verbatim">{text}</span>' if isinstance(value, Verbatim) and text else text
