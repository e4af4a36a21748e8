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
    "scoring_method": ("Scoring method", "计分方法"), "ratio": ("ratio (seed 001)", "比值法（模板001）"),
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
    "shrunk_csat": ("CSAT shrunk to the team", "收缩后满意度"), "p_value": ("p (below the team)", "p值（低于班组）"),
    "decision": ("Decision", "处理方式"), "one-to-one coaching": ("one-to-one coaching", "一对一辅导"),
    "team-level": ("team-level problem", "班组整体问题"), "too few answers": ("too few answers", "样本不足"),
    "within the team's range": ("within the team's range", "与班组无显著差异"),
    "priority": ("Priority", "优先级"), "(no team)": ("(no team)", "（无班组）"), "(no channel)": ("(no channel)", "（无渠道）"),
    "chart": ("Chart", "控制图"), "rules": ("Rules broken", "违反的判异规则"),
    # QA review sample and coverage
    "tickets": ("Tickets", "工单数"), "reviewed": ("Reviewed", "已质检"), "coverage": ("QA coverage", "质检覆盖率"),
    "capacity": ("QA capacity (reviews)", "质检产能（条）"), "sampled": ("Sampled", "抽样数"),
    "capacity_used": ("Share of capacity", "产能占用率"), "risk": ("Risk class", "风险类别"),
    "complaint": ("complaint", "投诉"), "low_csat": ("low CSAT", "低满意度"), "stratum": ("Stratum", "层"),
    "population": ("Tickets in stratum", "层内工单数"), "factor": ("Oversampling factor", "过采样倍数"),
    "sample_size": ("Sampled", "抽样数"), "design_weight": ("Design weight", "设计权重"),
    "reviews_per_week": ("Reviews per week", "每周质检量"),
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


def translate_frame(frame: pd.DataFrame, language: str = "en", values: list[str] | None = None) -> pd.DataFrame:
    """Headers (and the listed columns' values) in the chosen language, for display."""
    out = frame.copy()
    for column in values or []:
        if column in out.columns:
            out[column] = out[column].map(lambda v: t(v, language) if isinstance(v, str) else v)
    return out.rename(columns={c: t(c, language) for c in out.columns})


def table(frame: pd.DataFrame, language: str = "en", values: list[str] | None = None,
          percent: list[str] | tuple[str, ...] = (), precision: int = 2):
    """A frame styled for a report: translated headers (and listed values), no index,
    ``precision`` decimals, percentages where asked, a dash for missing values; every cell and
    header HTML-escaped (ids, names and categories come from the exports)."""
    shown = translate_frame(frame, language, values)
    styler = styled(shown).format(precision=precision, na_rep="–", thousands=",", escape="html").hide(axis="index")
    formats = {t(c, language): "{:.1%}" for c in percent if c in frame.columns}
    return styler.format(formats, subset=list(formats), na_rep="–", escape="html") if formats else styler
