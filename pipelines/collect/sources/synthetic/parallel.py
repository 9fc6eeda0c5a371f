"""Parallel sentences (Korean with English, Japanese and Chinese references) for synthetic translation items.

Everyday, news, public-service and culture sentences, the domains the parallel-corpus specs list. Written for
this project; no person's name or number that the personal-data rules would mask (the reference translation
passes those rules in refine and must come back unchanged).
"""

from __future__ import annotations

PAIRS: tuple[dict[str, str], ...] = (
    {
        "ko": "오늘 날씨가 정말 좋네요.",
        "en": "The weather is really nice today.",
        "ja": "今日は本当にいい天気ですね。",
        "zh": "今天天气真好。",
    },
    {
        "ko": "이 근처에 지하철역이 있나요?",
        "en": "Is there a subway station near here?",
        "ja": "この近くに地下鉄の駅はありますか。",
        "zh": "这附近有地铁站吗？",
    },
    {
        "ko": "주문한 음식이 아직 나오지 않았어요.",
        "en": "The food I ordered hasn't come out yet.",
        "ja": "注文した料理がまだ来ていません。",
        "zh": "我点的菜还没上。",
    },
    {
        "ko": "내일 아침 일찍 회의가 있습니다.",
        "en": "I have a meeting early tomorrow morning.",
        "ja": "明日の朝早く会議があります。",
        "zh": "明天一早有个会议。",
    },
    {
        "ko": "이 옷을 다른 색으로 바꿀 수 있을까요?",
        "en": "Could I exchange this garment for another colour?",
        "ja": "この服を別の色に交換できますか。",
        "zh": "这件衣服可以换别的颜色吗？",
    },
    {
        "ko": "주말에는 가족과 함께 공원에 갑니다.",
        "en": "On weekends I go to the park with my family.",
        "ja": "週末は家族と一緒に公園に行きます。",
        "zh": "周末我和家人一起去公园。",
    },
    {
        "ko": "정부는 내년 예산안을 국회에 제출했다.",
        "en": "The government submitted next year's budget bill to the National Assembly.",
        "ja": "政府は来年度の予算案を国会に提出した。",
        "zh": "政府向国会提交了明年的预算案。",
    },
    {
        "ko": "올여름은 예년보다 더울 것으로 예상된다.",
        "en": "This summer is expected to be hotter than usual.",
        "ja": "今年の夏は例年より暑くなると予想される。",
        "zh": "预计今年夏天会比往年更热。",
    },
    {
        "ko": "한국은행은 기준금리를 동결했다.",
        "en": "The Bank of Korea kept its base rate unchanged.",
        "ja": "韓国銀行は政策金利を据え置いた。",
        "zh": "韩国银行维持基准利率不变。",
    },
    {
        "ko": "신청서는 누리집에서 내려받을 수 있습니다.",
        "en": "The application form can be downloaded from the website.",
        "ja": "申請書はホームページからダウンロードできます。",
        "zh": "申请表可以从网站上下载。",
    },
    {
        "ko": "민원 처리 결과는 문자로 안내해 드립니다.",
        "en": "We will let you know the outcome of your request by text message.",
        "ja": "申請の処理結果はショートメッセージでお知らせします。",
        "zh": "办理结果将通过短信通知您。",
    },
    {
        "ko": "계약서에 서명하기 전에 내용을 꼼꼼히 확인하세요.",
        "en": "Check the contents carefully before you sign the contract.",
        "ja": "契約書に署名する前に内容をよく確認してください。",
        "zh": "签合同之前请仔细核对内容。",
    },
    {
        "ko": "이 법은 공포한 날부터 시행한다.",
        "en": "This act takes effect on the date of its promulgation.",
        "ja": "この法律は公布の日から施行する。",
        "zh": "本法自公布之日起施行。",
    },
    {
        "ko": "김치는 한국의 대표적인 발효 음식이다.",
        "en": "Kimchi is Korea's best-known fermented food.",
        "ja": "キムチは韓国を代表する発酵食品だ。",
        "zh": "泡菜是韩国具有代表性的发酵食品。",
    },
    {
        "ko": "한옥은 겨울에는 따뜻하고 여름에는 시원하다.",
        "en": "A hanok is warm in winter and cool in summer.",
        "ja": "韓屋は冬は暖かく夏は涼しい。",
        "zh": "韩屋冬暖夏凉。",
    },
    {
        "ko": "추석에는 온 가족이 모여 송편을 빚는다.",
        "en": "At Chuseok the whole family gathers to make songpyeon.",
        "ja": "秋夕には家族みんなが集まってソンピョンを作る。",
        "zh": "中秋节全家人聚在一起做松饼。",
    },
    {
        "ko": "휴대폰 배터리가 금방 닳아요.",
        "en": "My phone battery runs down quickly.",
        "ja": "携帯のバッテリーがすぐになくなります。",
        "zh": "我的手机电池很快就没电了。",
    },
    {
        "ko": "이번 역에서 내려서 버스로 갈아타세요.",
        "en": "Get off at this station and transfer to a bus.",
        "ja": "この駅で降りてバスに乗り換えてください。",
        "zh": "请在这一站下车换乘公交车。",
    },
    {
        "ko": "창가 자리로 예약하고 싶어요.",
        "en": "I would like to book a window seat.",
        "ja": "窓側の席を予約したいです。",
        "zh": "我想预订靠窗的座位。",
    },
    {
        "ko": "이 박물관은 월요일마다 문을 닫습니다.",
        "en": "This museum is closed every Monday.",
        "ja": "この博物館は毎週月曜日が休館です。",
        "zh": "这家博物馆每周一闭馆。",
    },
    {
        "ko": "환자는 사흘 전부터 기침과 열이 났다고 말했다.",
        "en": "The patient said the cough and fever had started three days earlier.",
        "ja": "患者は三日前から咳と熱が出ていると話した。",
        "zh": "患者说三天前开始咳嗽发烧。",
    },
    {
        "ko": "이 약은 식후 30분에 복용하세요.",
        "en": "Take this medicine thirty minutes after a meal.",
        "ja": "この薬は食後三十分に服用してください。",
        "zh": "此药请在饭后三十分钟服用。",
    },
    {
        "ko": "새로운 반도체 공장이 내년에 가동된다.",
        "en": "The new semiconductor plant will start operating next year.",
        "ja": "新しい半導体工場が来年稼働する。",
        "zh": "新的半导体工厂将于明年投产。",
    },
    {
        "ko": "인공지능 기술이 빠르게 발전하고 있다.",
        "en": "Artificial intelligence technology is advancing rapidly.",
        "ja": "人工知能技術が急速に発展している。",
        "zh": "人工智能技术正在迅速发展。",
    },
    {
        "ko": "학생들은 방학 동안 도서관에서 공부했다.",
        "en": "The students studied in the library during the vacation.",
        "ja": "学生たちは休みの間図書館で勉強した。",
        "zh": "学生们假期在图书馆学习。",
    },
    {
        "ko": "수업은 다음 주 화요일부터 다시 시작합니다.",
        "en": "Classes start again next Tuesday.",
        "ja": "授業は来週の火曜日から再開します。",
        "zh": "课程从下周二重新开始。",
    },
    {
        "ko": "제주도에는 아름다운 해변이 많다.",
        "en": "Jeju Island has many beautiful beaches.",
        "ja": "済州島には美しい海辺が多い。",
        "zh": "济州岛有很多美丽的海滩。",
    },
    {
        "ko": "이 길을 따라 쭉 가면 시장이 나와요.",
        "en": "If you go straight along this road, you will come to the market.",
        "ja": "この道をまっすぐ行くと市場があります。",
        "zh": "沿着这条路一直走就到市场了。",
    },
    {
        "ko": "비가 와서 경기가 내일로 미뤄졌다.",
        "en": "The match was put off until tomorrow because of the rain.",
        "ja": "雨のため試合は明日に延期された。",
        "zh": "因为下雨，比赛推迟到了明天。",
    },
    {
        "ko": "환불은 영수증이 있어야 가능합니다.",
        "en": "Refunds are only possible with a receipt.",
        "ja": "返金にはレシートが必要です。",
        "zh": "退款需要出示收据。",
    },
    {
        "ko": "배송은 보통 이틀 정도 걸립니다.",
        "en": "Delivery usually takes about two days.",
        "ja": "配送には通常二日ほどかかります。",
        "zh": "配送通常需要两天左右。",
    },
    {
        "ko": "이 식당은 비빔밥이 유명해요.",
        "en": "This restaurant is famous for its bibimbap.",
        "ja": "この食堂はビビンバが有名です。",
        "zh": "这家餐厅的拌饭很有名。",
    },
    {
        "ko": "좀 더 천천히 말씀해 주시겠어요?",
        "en": "Could you speak a little more slowly?",
        "ja": "もう少しゆっくり話していただけますか。",
        "zh": "您能说得再慢一点吗？",
    },
    {
        "ko": "전시회는 이번 달 말까지 열린다.",
        "en": "The exhibition runs until the end of this month.",
        "ja": "展示会は今月末まで開かれる。",
        "zh": "展览会将持续到本月底。",
    },
    {
        "ko": "판소리는 유네스코 인류무형문화유산이다.",
        "en": "Pansori is on UNESCO's list of the intangible cultural heritage of humanity.",
        "ja": "パンソリはユネスコの無形文化遺産である。",
        "zh": "盘索里是联合国教科文组织人类非物质文化遗产。",
    },
    {
        "ko": "전기 요금이 다음 달부터 오른다.",
        "en": "Electricity rates go up from next month.",
        "ja": "電気料金が来月から上がる。",
        "zh": "电费从下个月起上涨。",
    },
    {
        "ko": "시험 결과는 다음 주에 발표됩니다.",
        "en": "The exam results will be announced next week.",
        "ja": "試験の結果は来週発表されます。",
        "zh": "考试结果将于下周公布。",
    },
    {
        "ko": "기계를 점검하는 동안 전원을 꺼 두세요.",
        "en": "Keep the power switched off while the machine is being inspected.",
        "ja": "機械を点検している間は電源を切っておいてください。",
        "zh": "检修机器期间请关闭电源。",
    },
    {
        "ko": "이 용액은 서늘한 곳에 보관해야 한다.",
        "en": "This solution must be stored in a cool place.",
        "ja": "この溶液は涼しい場所に保管しなければならない。",
        "zh": "这种溶液必须存放在阴凉处。",
    },
    {
        "ko": "드라마가 끝나서 너무 아쉬워요.",
        "en": "I'm so sad the drama has ended.",
        "ja": "ドラマが終わってとても残念です。",
        "zh": "电视剧结束了，真可惜。",
    },
    {
        "ko": "사진 찍어 드릴까요?",
        "en": "Shall I take a picture for you?",
        "ja": "写真をお撮りしましょうか。",
        "zh": "要我帮您拍张照吗？",
    },
    {
        "ko": "지역 축제에 관광객이 많이 몰렸다.",
        "en": "Many tourists flocked to the local festival.",
        "ja": "地域の祭りに観光客が大勢詰めかけた。",
        "zh": "大批游客涌向当地的节日活动。",
    },
    {
        "ko": "회사는 올해 매출이 크게 늘었다고 밝혔다.",
        "en": "The company said its sales had risen sharply this year.",
        "ja": "会社は今年の売上が大きく伸びたと明らかにした。",
        "zh": "公司表示今年的销售额大幅增长。",
    },
    {
        "ko": "오늘은 일찍 들어가서 쉬고 싶어요.",
        "en": "I want to go home early and rest today.",
        "ja": "今日は早く帰って休みたいです。",
        "zh": "今天我想早点回去休息。",
    },
)
