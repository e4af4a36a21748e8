"""Words users read, in English and Chinese: KPI names, titles, axis labels, table headers."""

from __future__ import annotations

import pandas as pd

from qa_helpers.report.safe import styled

LANGUAGES = ("en", "zh")

TEXT: dict[str, tuple[str, str]] = {
    # KPIs
    "csat": ("CSAT (top-2-box)", "客户满意度"),
    "csat_mean": ("Mean CSAT score", "满意度平均分"),
    "nps": ("NPS", "净推荐值"),
    "fcr": ("First-contact resolution", "一次解决率"),
    "avg_first_response_s": ("Average first response", "平均首次响应时长"),
    "median_first_response_s": ("Median first response", "首次响应时长中位数"),
    "aht_s": ("Average handling time", "平均处理时长"),
    "response_on_time": ("Response on time (SLA)", "客服响应及时率"),
    "onsite_arrival_on_time": ("On-site arrival on time", "上门服务到达及时率"),
    "solution_accuracy": ("Technical solution accuracy", "技术方案准确率"),
    "process_compliance": ("Process compliance", "服务流程合规率"),
    "complaint_24h": ("Complaints handled within 24 h", "投诉处理及时率"),
    "reopen_rate": ("Reopen rate", "重开率"),
    "complaints_per_1000": ("Complaints per 1 000 tickets", "千单投诉量"),
    "workload_per_agent": ("Tickets per agent per week", "人均周工单量"),
    "resolution_time_s": ("Resolution time (median)", "解决时长中位数"),
    "resolved_within_sla": ("Resolved within SLA", "按时解决率"),
    # ---- service levels by severity and customer type (issue 14) ----
    "svc.severity.1": ("Severity 1 (major)", "一级（重大）"), "svc.severity.2": ("Severity 2 (serious)", "二级（严重）"),
    "svc.severity.3": ("Severity 3 (general)", "三级（一般）"), "svc.severity.4": ("Severity 4 (minor)", "四级（轻微）"),
    "svc.all": ("All complaints", "全部投诉"),
    "svc.response": ("First response", "首次响应"), "svc.confirmation": ("Intake confirmation", "受理确认"),
    "svc.first_handling": ("First handling (closed)", "初步处理（关闭）"),
    "svc.verb.response": ("answered within", "内答复"), "svc.verb.confirmation": ("confirmed within", "内确认"),
    "svc.verb.first_handling": ("handled (closed) within", "内完成初步处理（关闭）"),
    "svc.unit.hours": ("{v} h", "{v} 小时"), "svc.unit.working_hours": ("{v} working hours", "{v} 个工作小时"),
    "svc.unit.working_days": ("{v} working days", "{v} 个工作日"),
    "svc.by_severity": ("each severity's limit", "按严重级别的时限"),
    "svc.meets": ("meets target", "达标"), "svc.misses": ("misses target", "未达标"),
    "svc.no_data": ("no data", "无数据"), "svc.too_few": ("too few to judge", "样本不足，不评判"),
    "svc.group": ("Complaints", "投诉分组"), "svc.measure": ("Service level", "服务时限"),
    "svc.limit": ("Limit", "时限"), "svc.share_within": ("Within limit", "时限内占比"),
    "svc.gap_points": ("Gap to target (points)", "与目标差距（百分点）"), "svc.verdict": ("Verdict", "结论"),
    "svc.closed": ("Closed", "已关闭"), "svc.rate": ("Resolution rate", "解决率"),
    "svc.median_h": ("Median time to close (h)", "关闭时长中位数（小时）"),
    "svc.median_working_h": ("Median time to close (working hours)", "关闭时长中位数（工作小时）"),
    "svc.arrival": ("Received", "受理时间"), "svc.in_hours": ("in working time", "工作时间内"),
    "svc.out_of_hours": ("weekend, holiday or after hours", "周末、节假日或下班后"),
    "svc.median_response_h": ("Median response (h)", "响应时长中位数（小时）"),
    "svc.median_response_working_h": ("Median response (working hours)", "响应时长中位数（工作小时）"),
    "svc.within_24h": ("Answered within 24 h", "24 小时内答复占比"),
    "svc.repeat_complaint": ("Repeat complaints", "重复投诉率"), "svc.repeat_contact": ("Repeat contacts", "重复来电率"),
    "svc.days": ("Window (days)", "时间窗（天）"), "svc.repeats": ("Repeats", "重复数"),
    "svc.week": ("Week of receipt", "受理周"),
    "svc.not_yet_due": ("Not yet due", "尚未到期"),
    # ---- end service levels ----
    # dimensions and grades
    "timeliness": ("Timeliness", "时效性"),
    "professionalism": ("Professionalism", "专业性"),
    "compliance": ("Compliance", "规范性"),
    "customer_experience": ("Customer experience", "客户体验"),
    "excellent": ("Excellent", "优秀"),
    "good": ("Good", "良好"),
    "pass": ("Pass", "达标"),
    "needs_improvement": ("Needs improvement", "待改进"),
    # breakdown values
    "phone": ("Phone", "电话"), "chat": ("Chat", "在线"), "email": ("E-mail", "邮件"),
    "social": ("Social media", "社交媒体"), "onsite": ("On-site", "上门"),
    "self_service": ("Self-service", "自助服务"),
    "enterprise": ("Enterprise", "企业"), "individual": ("Individual", "个人"),
    "billing_dispute": ("Billing dispute", "账单争议"), "fault_repair": ("Fault repair", "故障报修"),
    "consultation": ("Consultation", "业务咨询"), "installation": ("Installation", "安装开通"),
    "other": ("Other", "其他"),
    "people": ("People", "人员"), "process": ("Process", "流程"), "tools": ("Tools", "工具"),
    "environment": ("Environment", "环境"),
    # root cause (issue 14 part 4): problem types, type × severity × frequency, 5-Why records, case reviews
    "problem_type": ("Problem type", "问题类型"), "unclassified": ("Unclassified", "未分类"),
    "responsible_department": ("Responsible department", "责任部门"), "main_cause": ("Most coded cause", "最常见原因维度"),
    "fishbone_dimension": ("Fishbone dimension", "鱼骨图维度"),
    "department.customer_service": ("Customer service", "客服部"), "department.operations": ("Operations", "运营部"),
    "department.field_service": ("Field service", "现场服务部"), "department.billing": ("Billing", "计费部"),
    "type_pareto_title": ("Pareto of complaints by problem type", "投诉问题类型帕累托图"),
    "severity_1": ("1 major", "一级（重大）"), "severity_2": ("2 serious", "二级（严重）"),
    "severity_3": ("3 moderate", "三级（一般）"), "severity_4": ("4 minor", "四级（轻微）"),
    "severity.1": ("severity 1 (major)", "一级（重大）"), "severity.2": ("severity 2 (serious)", "二级（严重）"),
    "severity.3": ("severity 3 (moderate)", "三级（一般）"), "severity.4": ("severity 4 (minor)", "四级（轻微）"),
    "severe": ("Severe (1-2)", "重大及严重"), "severe_share": ("Share severe", "重大及严重占比"),
    "frequency": ("Frequency", "出现频率"), "frequent": ("frequent", "经常出现"), "occasional": ("occasional", "偶尔出现"),
    "improvement plan": ("dedicated improvement plan", "设立专项改进计划"),
    "monitor": ("monitor, handle case by case", "加强监控与应急处理"),
    "record_unit": ("Record for", "记录所属单位"), "why": ("5 whys", "5Why 分析"), "evidence": ("Evidence", "证据"),
    "root_action": ("Action", "措施"), "no_record_yet": ("no root-cause record yet", "尚无根因记录"),
    "not_in_register": ("not in the register", "不在登记表中"),
    "received": ("received", "受理"), "case_part": ("Case review", "案例回溯"), "case_text": ("As recorded", "记录内容"),
    "case.background": ("Background", "案例背景"), "case.problem": ("Problem", "问题描述"),
    "case.handling": ("Handling", "处理过程"), "case.result": ("Result", "处理结果"), "case.impact": ("Impact", "影响"),
    "case.lessons": ("Lessons", "经验教训"),
    # table headers
    "indicator": ("Indicator", "指标"), "dimension": ("Dimension", "维度"), "weight": ("Weight", "权重"),
    "target": ("Target", "目标值"), "actual": ("Actual", "实际值"), "score": ("Score", "得分"),
    "n": ("n", "样本量"), "root_cause": ("Root-cause review", "需根因分析"), "kpi": ("KPI", "指标"),
    "value": ("Value", "数值"), "direction": ("Better when", "方向"), "higher": ("higher", "越高越好"),
    "lower": ("lower", "越低越好"), "channel": ("Channel", "渠道"), "customer_type": ("Customer type", "客户类型"),
    "category": ("Category", "问题类别"), "agent_id": ("Agent", "客服工号"), "team": ("Team", "班组"),
    "total": ("Total score", "综合得分"), "grade": ("Grade", "等级"), "week": ("Week", "周"),
    "delta_score": ("Change in score", "得分变化"), "delta_actual": ("Change in actual", "实际值变化"),
    "actual_previous": ("Actual (previous)", "上期实际值"), "score_previous": ("Score (previous)", "上期得分"),
    "share_of_weight": ("Share of weight", "得分率"), "overridden": ("Team override", "班组调整"),
    "default_target": ("Default target", "默认目标"), "unit": ("Unit", "单位"), "count": ("Count", "数量"),
    "level": ("Level", "层级"),
    "share": ("Share", "占比"), "cumulative_share": ("Cumulative share", "累计占比"),
    # chart titles and axes
    "weekly_trend": ("Weekly trend against target", "周趋势与目标"),
    "pareto_title": ("Pareto of problem tickets by category", "问题工单帕累托图（按类别）"),
    "problem_tickets": ("Problem tickets (count)", "问题工单数"),
    "fishbone_title": ("Complaint causes (fishbone tally)", "投诉原因鱼骨图统计"),
    "complaints": ("Complaints (count)", "投诉数"),
    "cross_title": ("Agents: CSAT against first-contact resolution", "客服满意度与一次解决率交叉分析"),
    "scorecard_title": ("Scorecard: points by indicator", "评分卡：各指标得分"),
    "points": ("Points", "分"),
    "heat_title": ("CSAT by channel and customer type", "各渠道与客户类型满意度"),
    "by_title": ("{kpi} by {by}", "{kpi}（按{by}）"),
    "meets_target": ("Meets target", "是否达标"), "vital_few": ("Vital few", "关键少数"),
    "quadrant": ("Quadrant", "象限"), "both at target": ("both at target", "两项均达标"),
    "csat below target": ("CSAT below target", "满意度未达标"), "fcr below target": ("FCR below target", "解决率未达标"),
    "both below target": ("both below target", "两项均未达标"), "too few": ("too few", "样本不足"),
    "check": ("Check", "检查项"), "result": ("Result", "结果"), "rows": ("Rows", "行数"),
    "status": ("Status", "状态"), "note": ("Note", "说明"),
    "meets target": ("meets target", "达标"), "misses target": ("misses target", "未达标"),
    "not measured": ("not measured", "未测量"), "no target": ("no target", "无目标"),
    # scorecard: targets met, root cause, remarks, scoring methods, per-channel targets
    "yes": ("yes", "是"), "no": ("no", "否"),
    "met": ("Target met", "是否达标"), "attainment": ("Attainment", "达成率"),
    "remark": ("Remarks (reason not met)", "备注（未达标原因简述）"), "floor": ("Floor (scores 0)", "零分线"),
    "source": ("Source", "依据"), "targets_met": ("Targets met", "达标指标数"),
    "scoring_method": ("Scoring method", "计分方法"), "ratio": ("ratio (weight × actual ÷ target)", "比值法（权重 × 实际值 ÷ 目标值）"),
    "capped": ("ratio capped at the weight", "比值法（不超过权重）"),
    "floor_to_target": ("floor to target", "零分线至目标线性计分"),
    "all_channels": ("all channels (volume-weighted)", "全部渠道（按量加权）"),
    "first_response_sla_s": ("First-response SLA", "首次响应时限"), "min": ("From (points)", "最低分"),
    # monitoring: alert episodes, coaching decisions
    "open": ("Status", "状态"), "still open": ("open", "未关闭"), "closed": ("closed", "已关闭"), "severity": ("Severity", "严重程度"),
    "high": ("high", "高"), "medium": ("medium", "中"), "low": ("low", "低"),
    "kind": ("Chronic or new", "持续/新发"), "chronic": ("chronic", "持续"), "new": ("new", "新发"),
    "recurring": ("recurring", "复发"), "group_by": ("Per", "分组方式"), "group": ("Group", "对象"),
    "start": ("Start (week of)", "起始周"), "last_week": ("Last week", "最近一周"),
    "weeks_open": ("Weeks open", "持续周数"), "weeks_fired": ("Weeks fired", "触发周数"),
    "threshold": ("Threshold", "阈值"), "first_week": ("First week", "首周"),
    "run_length": ("Weeks in a row", "连续周数"), "run_n": ("Answers in the run", "期间样本量"),
    "run_csat": ("CSAT in the run", "期间满意度"), "team_csat": ("Rest of team, same weeks", "同期班组其他人"),
    "shrunk_csat": ("CSAT shrunk to the team", "收缩后满意度"), "p_below_team": ("p (below the team)", "p值（低于班组）"),
    "decision": ("Decision", "处理方式"), "one-to-one coaching": ("one-to-one coaching", "一对一辅导"),
    "team-level": ("team-level problem", "班组整体问题"), "too few answers": ("too few answers", "样本不足"),
    "within the team's range": ("within the team's range", "与班组无显著差异"),
    # issue 14: coaching log and its effect, training and QA programme
    "session_id": ("Session", "辅导编号"), "coach": ("Coach", "辅导人"), "date": ("Date", "日期"),
    "topic": ("Topic", "辅导主题"), "agreed_action": ("Agreed action", "约定行动"),
    "follow_up_date": ("Follow-up due", "回访日期"), "state": ("Follow-up", "回访状态"),
    "follow-up done": ("done", "已回访"), "follow-up pending": ("pending", "待回访"),
    "follow-up overdue": ("overdue", "逾期未回访"), "days_overdue": ("Days overdue", "逾期天数"),
    "coached_before": ("Agent before", "辅导前"), "coached_after": ("Agent after", "辅导后"),
    "peers_change": ("Team-mates' change", "同事的变化"), "effect_beyond_peers": ("Change beyond team-mates", "超出同事的变化"),
    "effect_beyond_others": ("Change beyond untrained agents", "超出未参训客服的变化"),
    "effect_verdict": ("Did it work?", "是否见效"), "worked": ("worked", "见效"), "got worse": ("got worse", "变差"),
    "no detectable effect": ("no detectable effect", "未发现可检测的效果"),
    "too few tickets to tell": ("too few tickets to tell", "工单太少，无法判断"),
    "too early to tell": ("too early to tell", "为时尚早"),
    "course_id": ("Course", "课程编号"), "course": ("Course name", "课程名称"), "trainees": ("Trainees", "学员数"),
    "others": ("Untrained agents compared", "对比的未参训客服"), "hours": ("Hours", "课时"),
    "tested": ("Tested", "参加考核"), "mean_score": ("Mean score", "平均分"), "pass_rate": ("Pass rate", "合格率"),
    "trained": ("Agents trained", "参训客服"), "hours_per_agent": ("Training hours per agent", "人均培训时长"),
    "certified_rate": ("Certified", "持证率"), "qa_reviews": ("QA reviews", "质检条数"),
    "qa_pass_rate": ("QA pass rate", "质检合格率"), "training_pass_rate": ("Training pass rate", "培训考核合格率"),
    "priority": ("Priority", "优先级"), "(no team)": ("(no team)", "（无班组）"), "(no channel)": ("(no channel)", "（无渠道）"),
    "chart": ("Chart", "控制图"), "rules": ("Rules broken", "违反的判异规则"),
    # QA review sample and coverage
    "tickets": ("Tickets", "工单数"), "reviewed": ("Reviewed", "已质检"), "coverage": ("QA coverage", "质检覆盖率"),
    "capacity": ("QA capacity (reviews)", "质检产能（条）"), "sampled": ("Sampled", "抽样数"),
    "capacity_used": ("Share of capacity", "产能占用率"),
    "sample_share": ("Share of tickets sampled", "抽样占工单比例"), "risk": ("Risk class", "风险类别"),
    "complaint": ("complaint", "投诉"), "low_csat": ("low CSAT", "低满意度"), "stratum": ("Stratum", "层"),
    "population": ("Tickets in stratum", "层内工单数"), "factor": ("Oversampling factor", "过采样倍数"),
    "sample_size": ("Sampled", "抽样数"), "design_weight": ("Design weight", "设计权重"),
    "reviews_per_week": ("Reviews per week", "每周质检量"),
    # at a glance
    "change_previous": ("Change since the previous period", "较上期变化"),
    "kpis_with_target": ("Targets set", "已设目标数"), "kpis_measured": ("KPIs this archive measures", "可测量的KPI"),
    "checks_passed": ("Checks passed", "通过的校验"), "open_alerts": ("Open alerts (of all)", "未关闭预警（共计）"),
    "high_severity_open": ("Open alerts of high severity", "高严重程度的未关闭预警"),
    "coaching_cases": ("One-to-one coaching cases", "一对一辅导人数"),
    "teams_below_target": ("Teams below their CSAT target", "满意度低于目标的班组"),
    "actions": ("Actions", "措施数"), "open_actions": ("Open actions", "进行中的措施"),
    "overdue_actions": ("Overdue actions", "逾期措施"), "done": ("done", "已完成"), "done_actions": ("Done", "已完成措施"),
    "planned": ("planned", "计划中"), "in_progress": ("in progress", "进行中"), "cancelled": ("cancelled", "已取消"),
    # action register
    "action_id": ("Action", "措施编号"), "problem": ("Problem", "问题"), "measure": ("Measure", "措施"),
    "owner": ("Owner", "负责人"), "teams": ("Teams", "班组"), "due": ("Due", "截止日期"),
    "resources": ("Resources", "资源"), "metrics": ("Acceptance criteria", "验收标准"),
    "days_to_due": ("Days to due", "距截止天数"), "verdict": ("Verdict", "结论"),
    "verdict.met": ("met", "已达成"), "verdict.not met": ("not met", "未达成"),
    "verdict.not yet measurable": ("not yet measurable", "尚无法测量"),
    "increase": ("higher", "越高越好"), "not measurable": ("not measurable", "无法测量"), "decrease": ("lower", "越低越好"),
    # action governance (issue 14 part 3): gaps, done but not accepted, weekly progress colours
    "colour": ("Status colour", "状态灯"), "colour.green": ("Green", "绿"), "colour.amber": ("Amber", "黄"),
    "colour.red": ("Red", "红"), "note_date": ("Latest note", "最近记录日期"), "slip_reason": ("Reason for slippage", "滞后原因"),
    "overdue": ("Overdue", "已逾期"), "closed_actions": ("Done or cancelled actions", "已完成或已取消的措施"),
    "judged": ("Finding", "验收结果"), "not judged": ("could not be judged", "无法判定"),
    # monitoring: coaching and charts
    "csat_n": ("Answers", "回答数"), "fcr_n": ("Tickets", "工单数"), "ci_low": ("CI low", "置信下限"),
    "ci_high": ("CI high", "置信上限"), "below_target": ("Below target", "低于目标"), "agents": ("Agents", "客服人数"),
    "agents_with_runs": ("Agents with a run", "出现连续低分的客服"), "one_to_one": ("One-to-one", "一对一"),
    "remedy": ("Remedy", "改进方式"), "agent": ("agent", "客服"), "all": ("the whole unit", "整个单位"),
    "no_periods": ("No periods to chart", "没有可绘制的期间"), "centre": ("Centre", "中心线"),
    "limits": ("Limits", "控制限"), "period": ("Period", "期间"), "moving_range": ("Moving range", "移动极差"),
    "beyond_ucl": ("Beyond UCL", "超出上控制限"), "rule_violation": ("Rule violation", "违反判异规则"),
    "no_agent_placed": ("No agent has enough surveys and tickets to place", "没有客服的问卷和工单数量足以定位"),
    "measured": ("measured", "可测量"),
    "table.tickets": ("tickets", "工单"), "table.surveys": ("surveys", "问卷"), "table.complaints": ("complaints", "投诉"),
    "table.field_visits": ("field visits", "上门服务"), "table.qa_reviews": ("QA reviews", "质检"),
    "table.agents": ("roster (agents)", "客服名册"),
    "aggregation.share": ("share of rows", "占比"), "aggregation.mean": ("mean", "平均值"),
    "aggregation.median": ("median", "中位数"), "aggregation.nps": ("promoters − detractors", "推荐者 − 贬损者"),
    "aggregation.per_1000": ("per 1 000 tickets", "每千单"), "aggregation.per_agent": ("per agent-week", "每客服每周"),
    "unit.share": ("share", "占比"), "unit.seconds": ("seconds", "秒"), "unit.per_1000": ("per 1 000", "每千单"),
    "unit.points": ("points", "分"), "unit.score": ("score 1-5", "1–5 分"), "unit.tickets": ("tickets", "工单数"),
    # the standards' checks
    "scorecard weights total 100": ("scorecard weights total 100", "评分卡权重合计为 100"),
    "scoring method": ("scoring method", "计分方法"),
    "every KPI name is known": ("every KPI name is known", "所有 KPI 名称均可识别"),
    "targets in range (shares 0-1, durations > 0, NPS -100..100)": (
        "targets in range (shares 0-1, durations > 0, NPS -100..100)", "目标值在合理范围内（占比 0–1，时长 > 0，NPS −100 至 100）"),
    "every floor lies on the far side of its target": ("every floor lies on the far side of its target", "零分线均位于目标值的另一侧"),
    "targets with a source": ("targets with a source", "注明依据的目标"),
    "grade bands ordered, no overlap, down to 0": ("grade bands ordered, no overlap, down to 0", "等级区间有序、不重叠、下限到 0"),
    "team overrides name known KPIs": ("team overrides name known KPIs", "班组调整均针对已知 KPI"),
    "complaint and resolution hours positive": ("complaint and resolution hours positive", "投诉与解决时限均为正数"),
    "rule.1: beyond 3σ": ("1: beyond 3σ", "1：超出 3σ"), "rule.2: 2 of 3 beyond 2σ": ("2: 2 of 3 beyond 2σ", "2：3 点中 2 点超出 2σ"),
    "rule.3: 4 of 5 beyond 1σ": ("3: 4 of 5 beyond 1σ", "3：5 点中 4 点超出 1σ"),
    "rule.4: 8 in a row on one side": ("4: 8 in a row on one side", "4：连续 8 点位于同侧"),
    "lacking.complaints": ("complaints", "投诉"), "lacking.low_csat": ("low CSAT", "低满意度"), "lacking.surveys": ("dissatisfied survey answers", "不满意的问卷回答"),
    "and": (" and ", "和"),
    # report pages
    "index": ("Index", "索引"),
    "step.standards": ("Standards", "现行标准"), "step.data_quality": ("Data quality", "数据质量"),
    "step.kpi_analysis": ("KPI analysis", "KPI 分析"), "step.scorecard": ("Scorecard", "评分卡"),
    "step.action_plan": ("Action plan", "改进计划"), "step.monitoring": ("Monitoring", "过程监控"),
    "step.before_after": ("Before/after", "前后对比"), "step.qa_calibration": ("QA calibration", "质检校准"),
    # voice of customer (issue 15): the step and its headers
    "step.voice_of_customer": ("Voice of the customer", "客户之声"),
    "voc_topic": ("Topic", "话题"), "voc_rank": ("Rank", "排名"), "voc_mentions": ("Mentions", "提及次数"),
    "voc_comments": ("Comments", "留言数"), "voc_share_of_comments": ("Share of comments", "留言占比"),
    "voc_share_of_complaints": ("Share of complaints", "投诉占比"), "voc_signal": ("Wording", "措辞"),
    "dissatisfied": ("dissatisfied", "不满"), "neutral": ("neutral", "中性"), "satisfied": ("satisfied", "满意"),
    "voc_pareto_title": ("Problem topics in comments", "留言中的问题话题"),
    "voc_reviews_title": ("Problem topics in online reviews", "网络评价中的问题话题"),
    "voc_heat_channel": ("Share of comments mentioning a topic, by channel", "按渠道：提到各话题的留言占比"),
    "voc_heat_customer_type": ("Share of comments mentioning a topic, by customer type", "按客户类型：提到各话题的留言占比"),
    "voc_trend_title": ("Share of comments mentioning a topic, by month", "按月：提到各话题的留言占比"),
    "voc_no_comments": ("No comments", "没有留言"), "month": ("Month", "月份"),
    # the index page
    "index_title": ("Service quality reports", "服务质量报告"), "company": ("Company", "公司"),
    "whole_company": ("ALL (whole company)", "ALL（全公司）"), "rollup_of": ("{unit} (all its teams)", "{unit}（所辖全部班组）"),
    "kit": ("kit", "工具包版本"), "config": ("config", "配置"), "commit": ("commit", "代码版本"),
    "grade_and_targets": ("Grade, score, targets met", "等级、得分、达标数"), "reports": ("Reports", "报告"),
    "targets_met_short": ("targets met", "项达标"), "archive": ("archive", "档案"),
    "run.ok": ("ok", "成功"), "run.failed": ("failed", "失败"), "run.skipped": ("skipped (unchanged)", "跳过（未变化）"),
    "run.no data": ("no data (no tickets in the period)", "无数据（本期没有工单）"),
    "run.pending": ("pending (not run yet: an interrupted run; `--resume` runs them)", "待运行（运行被中断；用 --resume 继续）"),
    "no_data_row": ("no data: no tickets in {period}", "无数据：{period} 没有工单"),
    "older_archive": ("from an older archive", "来自旧版档案"), "gone_units": ("Not in the current archive", "不在当前档案中"),
    "legend.green": ("target met", "达标"), "legend.amber": ("within 5 % of target", "与目标相差 5 % 以内"),
    "legend.red": ("further off", "差距更大"),
    "legend.change": ("Below each figure: its change since the previous period, and n.",
                      "数值下方：较上期的变化及样本量。"),
    "legend.failing_cell": ("the link opens the failing cell.", "链接直达出错的单元格。"),
    # data quality
    "data_source": ("Source", "数据源"), "files": ("Files", "文件数"), "raw": ("Rows exported", "原始行数"),
    "archived": ("Archived", "入档行数"), "quarantined": ("Quarantined", "隔离行数"),
    "quarantined_share": ("Share quarantined", "隔离占比"), "balanced": ("Rows add up", "行数平衡"),
    "file": ("File", "文件"), "sha256": ("Content hash (SHA-256)", "内容哈希（SHA-256）"),
    "in_archive": ("In the archive", "档案中有"), "no_source": ("no: no source in the config", "无：配置中没有数据源"),
    "key": ("Key", "主键"), "rows_with_repeated_key": ("Rows with a repeated key", "主键重复的行"),
 "surveyed": ("Surveyed", "有问卷的工单"), "response_rate": ("Response rate", "回收率"),
    "with_ticket_id": ("Naming a ticket", "注明工单号"), "linked": ("Linked", "已关联"),
    "linkage_rate": ("Linkage rate", "关联率"), "rule": ("Rule", "规则"),
    "rule.duplicate_row": ("exact copy of a row", "完全重复的行"), "rule.duplicate_id": ("repeated id", "编号重复"),
    "rule.test_ticket": ("test ticket", "测试工单"), "rule.review_burst": ("burst of one-star reviews", "集中出现的一星差评"),
    "rule.malformed_value": ("unreadable value", "无法解析的值"), "rule.invalid_value": ("value out of range", "超出范围的值"),
    "rule.missing_required": ("required field empty", "必填字段为空"), "rule.unknown_agent": ("agent not on the roster", "不在名册中的客服"),
    "rule.out_of_range_time": ("impossible date", "不可能的日期"), "rule.time_order": ("times out of order", "时间顺序错误"),
    "rule.resolved_before_response": ("resolved before the first response", "先解决后响应"),
    "rule.before_linked": ("answered before its ticket existed", "早于所属工单"),
    "rule.unknown_link": ("ticket not in the archive", "所属工单不在档案中"),
    "rule.unparseable_row": ("row that cannot be split into fields", "无法拆分字段的行"),
    "none_quarantined": ("No rows were quarantined", "没有被隔离的行"),
    "quarantine_title": ("Quarantined rows by source and rule", "按数据源与规则统计的隔离行"),
    "quarantined_rows": ("Rows quarantined (count)", "隔离行数"), "no_empty_values": ("No empty values", "没有空值"),
    "missing_title": ("Empty values by column (columns with any)", "各字段空值（仅列出有空值的字段）"),
    "missing_share": ("Share of rows empty (%)", "空值占比（%）"), "no_tickets": ("No tickets in this period", "本期没有工单"),
    "tickets_count": ("Tickets (count)", "工单数"), "coverage_title": ("Tickets per week and channel", "每周各渠道工单数"),
    "week_starting": ("Week starting (month-day)", "周起始日（月-日）"),
    # surveys, mystery shopping and benchmarks (issue 15 parts 4-5, h-survey)
    "q_speed": ("Speed of response", "响应速度"), "q_attitude": ("Attitude", "服务态度"),
    "q_resolution": ("Problem resolved", "问题解决"), "q_professionalism": ("Professionalism (item)", "专业程度"),
    "survey_item": ("Questionnaire item", "问卷题项"), "std_beta": ("Standardised β", "标准化系数 β"),
    "beta_ci_low": ("β CI low", "β 置信下限"), "beta_ci_high": ("β CI high", "β 置信上限"),
    "share_of_r2": ("Share of explained variance", "解释方差占比"), "answers": ("Answers", "答卷数"),
    "nps_points": ("NPS (points)", "净推荐值（分）"), "nps_ci_low": ("95 % CI low", "95 % 置信下限"),
    "nps_ci_high": ("95 % CI high", "95 % 置信上限"), "csat_of_answers": ("CSAT of the answers", "答卷满意度"),
    "not recorded": ("not recorded", "未记录"), "answers_needed": ("Answers needed", "所需答卷数"),
    "invitations": ("Invitations", "邀请数"), "benchmark": ("Benchmark", "对标值"),
    "benchmark_kind": ("Kind", "类型"), "competitor": ("competitor", "竞争对手"), "industry": ("industry", "行业"),
    "benchmark_source": ("Source", "出处"), "year": ("Year", "年份"), "gap": ("Gap to benchmark", "与对标值差距"),
    "visits": ("Visits", "暗访次数"), "mystery_score": ("Mystery-shopping score", "神秘顾客得分"),
    "rubric_item": ("Rubric item", "评分项"), "met_share": ("Share of visits met", "达标访次占比"),
    "visits_meeting_target": ("Visits meeting the target", "达标访次"),
    "ms_answered_in_time": ("Answered in time (3 rings / 10 s)", "及时接通（3 声内 / 10 秒内）"),
    "ms_standard_greeting": ("Standard greeting", "标准问候语"),
    "ms_plain_language": ("Plain language, no jargon", "通俗易懂、不用术语"),
    "ms_problem_resolved": ("Problem resolved", "问题得到解决"),
    "ms_follow_up": ("Follow-up to confirm", "主动回访确认"),
    # QA calibration
    "voice_quality": ("Voice quality", "语音质量"), "courtesy": ("Courtesy phrases", "礼貌用语"),
    "problem_solving": ("Problem solving", "问题解决"), "proactiveness": ("Proactiveness", "主动性"),
    "item": ("Rubric item", "评分项"), "subjects": ("Conversations", "会话数"), "raters": ("Reviewers", "质检员数"),
    "kappa": ("κ", "κ"), "reviewers": ("Reviewers", "质检员数"), "icc": ("ICC", "ICC"), "within": ("Within ±10 %", "±10 % 以内"),
    "reviewer_id": ("Reviewer", "质检员"), "bias": ("Bias (points)", "偏差（分）"), "sd": ("SD", "标准差"),
    "se": ("Standard error", "标准误"), "p_value": ("p", "p 值"), "iqs": ("IQS", "IQS"), "reviews": ("Reviews", "质检次数"),
    "no_scores": ("No scores", "没有评分"), "score_distribution": ("Score distribution", "评分分布"),
    "share_of_reviews": ("Share of scored reviews (%)", "评分占比（%）"),
    "no_calibration_reviews": ("No calibration reviews", "没有校准质检"), "ci_covers_0": ("CI covers 0", "置信区间包含 0"),
    "ci_excludes_0": ("CI excludes 0", "置信区间不含 0"),
    "bias_title": ("Reviewer bias against consensus (calibration tickets)", "质检员相对共识的偏差（校准工单）"),
    "bias_axis": ("Reviewer − consensus", "质检员 − 共识"), "rubric_points": ("rubric points, 1–5 scale", "评分表分值，1–5 分"),
    "no_reviewer_pairs": ("No reviewer pairs", "没有质检员配对"), "all_items": ("all items", "全部评分项"),
    "all_reviewers": ("all reviewers", "全体质检员"), "agreement_title": ("Reviewer agreement", "质检员一致性"),
    "weights.linear": ("linear weights", "线性加权"), "weights.quadratic": ("quadratic weights", "二次加权"),
    "iqs_title": ("IQS of the period's reviews", "本期质检的 IQS"), "reviews_count": ("Reviews (count)", "质检次数"),
    "group.team": ("team", "班组"), "group.channel": ("channel", "渠道"), "group.agent": ("agent", "客服"),
    "group.all": ("the whole unit", "整个单位"),
    # before/after
    "none": ("none", "无"), "metric": ("Metric", "指标"), "method": ("Method", "方法"), "before": ("Before", "之前"),
    "after": ("After", "之后"),
    # before/after charts (titles, legend, axis units) in the reader's language
    "chart_before_after": ("{kpi}: before and after", "{kpi}：改进前后"),
    "chart_weekly_treated": ("{kpi}: weekly, treated against control", "{kpi}：每周，试点班组与对照班组"),
    "chart_start": ("start", "开始"), "role_treated": ("treated", "试点"), "role_control": ("control", "对照"),
    "unit_log_seconds": ("s, log scale", "秒，对数刻度"), "unit_weekly_geomean": ("s, weekly geometric mean", "秒，每周几何平均"),
    "unit_score": ("score", "评分"), "effect": ("Effect", "效应"), "p": ("p", "p 值"), "p_adj": ("p (adjusted)", "校正后 p 值"),
    "n_before": ("n before", "之前样本量"), "n_after": ("n after", "之后样本量"), "mde": ("MDE", "MDE"),
    "share_before": ("Share before", "之前占比"), "share_after": ("Share after", "之后占比"), "change": ("Change", "变化"), "chi2": ("χ²", "χ²"), "level change": ("level change", "水平变化"),
    "slope change": ("slope change", "斜率变化"), "family": ("Family", "检验族"), "dof": ("df", "自由度"),
    # the KPI catalogue
    "table": ("Table", "数据表"), "aggregation": ("Aggregation", "汇总方式"), "inputs": ("Inputs", "所需字段"),
    "formula": ("Formula", "计算公式"), "in_this_archive": ("In this archive", "本档案可否测量"),
    # before/after: one verdict vocabulary, decisions, the managers' table
    "improved": ("improved", "有改善"), "worsened": ("worsened", "变差"),
    "no change larger than the MDE": ("no change that matters", "无实质变化"),
    "inconclusive (underpowered)": ("cannot tell yet (too few data)", "尚无定论（样本不足）"),
    "inconclusive (at ceiling)": ("cannot tell (already at its best)", "尚无定论（已处于最佳水平）"),
    "inconclusive (no events)": ("cannot tell (no events)", "尚无定论（无事件）"),
    "not estimable": ("not testable", "无法检验"),
    "standardise": ("standardise", "标准化推广"), "keep watching": ("keep watching", "继续观察"),
    "rethink": ("rethink", "重新研究措施"), "not enough data": ("not enough data", "数据不足"),
    "ba_action_id": ("Action", "改进措施"), "ba_sentence": ("Did it work?", "是否见效"),
    "ba_test": ("Test", "检验"), "ba_before": ("Before", "改进前"), "ba_after": ("After", "改进后"),
    "ba_change": ("Change", "变化"), "ba_ci": ("Confidence interval", "置信区间"), "ba_p": ("p", "p值"),
    "ba_p_adj": ("p (adjusted)", "校正后p值"), "ba_n_before": ("n before", "改进前样本量"),
    "ba_n_after": ("n after", "改进后样本量"), "ba_mde": ("Smallest detectable change", "最小可检测变化"),
    "ba_verdict": ("Verdict", "结论"), "ba_role": ("Role", "作用"),
    "primary": ("primary", "主要依据"), "corroborating": ("corroborating", "佐证"),
    "supporting only": ("supporting only", "仅作参考"),
}


def t(key: str, language: str = "en") -> str:
    """The text for ``key`` in ``language`` (the key itself when there is none)."""
    pair = TEXT.get(key)
    if pair is None:
        return key
    return pair[LANGUAGES.index(language)] if language in LANGUAGES else pair[0]


def mark(value, language: str = "en") -> str:
    """A yes/no as a reader sees it: ✓ or ✗ (a dash when unknown)."""
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    return "✓" if bool(value) else "✗"


def header(column: str, language: str = "en") -> str:
    """A column's header: its catalogue text, else (English only) the name in words ("rows_with_key" → "Rows with key")."""
    text = t(column, language)
    if text == column and "_" in column:
        text = column.replace("_", " ")
        text = text[:1].upper() + text[1:]
    return text


def translate_frame(frame: pd.DataFrame, language: str = "en", values: list[str] | None = None) -> pd.DataFrame:
    """Headers (and the listed columns' values) in the chosen language, yes/no columns as ✓/✗, for display."""
    out = frame.copy()
    for column in values or []:
        if column in out.columns:
            out[column] = out[column].map(lambda v: t(v, language) if isinstance(v, str) else v)
    for column in out.columns:
        if out[column].dtype == bool or (out[column].dtype == object and len(out[column])
                                         and out[column].map(lambda v: isinstance(v, bool) or v is None).all()
                                         and out[column].map(lambda v: isinstance(v, bool)).any()):
            out[column] = out[column].map(lambda v: mark(v, language))
    return out.rename(columns={c: header(c, language) for c in out.columns})


def table(frame: pd.DataFrame, language: str = "en", values: list[str] | None = None,
          percent: list[str] | tuple[str, ...] = (), precision: int = 2, verbatim: list[str] | tuple[str, ...] = ()):
    """A frame styled for a report, every cell and header HTML-escaped.

    Parameters
    ----------
    frame : DataFrame
        What to show.
    language : {"en", "zh"}
        Headers (and the ``values`` columns' entries) in this language; yes/no columns become ✓/✗.
    values : list of str, optional
        Columns whose entries are catalogue keys (channels, KPI names, verdicts) to translate.
    percent : list of str
        Columns of shares, shown as 87.5 %.
    precision : int
        Decimals of other non-integer numbers; whole numbers show none (2,038, not 2,038.00).
    verbatim : list of str
        Columns of text users wrote (register entries, remarks): shown as written, in any language,
        and marked ``class="verbatim"`` so a language check can tell them from the kit's own words.

    Returns
    -------
    pandas.io.formats.style.Styler
        No index; a dash for missing values.
    """
    shown = translate_frame(frame, language, values)
    # every cell and header HTML-escaped (ids, names and categories come from the exports)
    styler = styled(shown).format(precision=precision, na_rep="–", thousands=",", escape="html").hide(axis="index")
    whole = {header(c, language): "{:,.0f}" for c in frame.columns
             if c not in percent and pd.api.types.is_float_dtype(frame[c]) and frame[c].dropna().mod(1).eq(0).all()}
    if whole:
        styler = styler.format(whole, subset=list(whole), na_rep="–", escape="html")
    formats = {header(c, language): "{:.1%}" for c in percent if c in frame.columns}
    if formats:
        styler = styler.format(formats, subset=list(formats), na_rep="–", escape="html")
    kept = [header(c, language) for c in verbatim if c in frame.columns]
    if kept:
        classes = pd.DataFrame("", index=shown.index, columns=shown.columns)
        classes[kept] = "verbatim"
        styler = styler.set_td_classes(classes)
    return styler


def glance(rows: list[dict], language: str = "en", previous: str | None = None) -> str:
    """The few figures that matter, as a Markdown table at the top of a report.

    Parameters
    ----------
    rows : list of dict
        Each with ``label`` (in the reader's language) and ``value`` (formatted), and optionally
        ``target`` (formatted, with its comparison sign), ``met`` (bool), ``change`` (formatted change
        since the previous period) and ``n``.
    language : {"en", "zh"}
    previous : str, optional
        The previous period, named in the change column's header.

    Returns
    -------
    str
        Markdown; values are shown as written, never as markup.
    """
    from qa_helpers.report.safe import markdown_text
    from qa_helpers.report.texts import say

    def cell(value) -> str:
        return "–" if value is None or value == "" else markdown_text(value)

    columns = [  # header, the row's cell; a column no row fills is left out
        (t("indicator", language), lambda row: f"**{cell(row['label'])}**"),
        (t("value", language), lambda row: cell(row["value"])),
        (t("target", language), lambda row: cell(row.get("target"))),
        (t("met", language), lambda row: mark(row.get("met"), language) if "met" in row else "–"),
        (say("headline.previous", language, period=previous) if previous else t("change_previous", language),
         lambda row: cell(row.get("change"))),
        (t("n", language), lambda row: f"{int(row['n']):,}" if row.get("n") is not None and row["n"] == row["n"] else "–"),
    ]
    kept = [(head, fill) for i, (head, fill) in enumerate(columns)
            if i < 2 or any(fill(row) not in ("–", "**–**") for row in rows)]
    lines = [say("headline.title", language), "", "| " + " | ".join(head for head, _ in kept) + " |",
             "|" + "---|" * len(kept)]
    lines += ["| " + " | ".join(fill(row) for _, fill in kept) + " |" for row in rows]
    return "\n".join(lines)
