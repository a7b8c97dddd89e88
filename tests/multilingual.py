# ruff: noqa: E501  (prose: a paragraph is kept on few lines, as it was written)
"""News reports in eleven languages and scripts, written for these tests (no text is taken
from the development data). Each is an ordinary report of 60 to 120 words or the equivalent,
as a crawler would send it: a title and the article's text.

``REPORTS`` holds one report per language. ``EDITED`` holds lightly edited copies (another
dateline, a few words changed, a sentence cut) of the Chinese, Japanese and Thai reports, and
``OTHER_EVENTS`` reports of different events in those languages, among them floods beside the
Chinese and Thai floods, so they share the vocabulary of the kind but not the event.
``REWRITES`` tell the Chinese and Thai floods again in other words.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson


@dataclass(frozen=True, slots=True)
class Report:
    """One crawler message: ``key`` names it (its id), ``lang`` is the expected language."""

    key: str
    lang: str
    title: str
    text: str

    def message(self, **body: str) -> bytes:
        """The raw message, without a declared language (the service must find it): the title
        and text, or with ``body`` (``text=`` or ``html=``) instead of them."""
        return orjson.dumps({"id": self.key, "url": f"https://news.example/{self.key}",
                             **(body or {"title": self.title, "text": self.text})})


ZH = Report("zh-flood", "zh", "广东清远遭遇强降雨 三千余名群众紧急转移", """\
新华社广州6月12日电 受持续强降雨影响，广东省清远市多个镇街自11日夜间起出现严重内涝，部分道路积水深达\
一米以上。清远市应急管理局12日上午通报，全市已紧急转移安置群众三千二百余人，目前暂无人员伤亡报告。
气象部门数据显示，过去二十四小时内，英德市最大累计降雨量达到二百八十毫米，打破当地六月单日降雨纪录。\
消防救援人员正在低洼地区逐户排查，协助行动不便的老人撤离。当地防汛指挥部已启动三级应急响应，提醒市民\
减少外出，远离河道和山体边坡。""")

JA = Report("ja-snow", "ja", "新潟で記録的な大雪 関越道で車300台立ち往生", """\
新潟県内では17日から18日にかけて強い冬型の気圧配置が続き、各地で記録的な大雪となった。気象庁によると、\
魚沼市では18日朝までの24時間に観測史上最多となる112センチの降雪を記録した。
関越自動車道では上り線の一部区間で車両およそ300台が一時立ち往生し、東日本高速道路が通行止めを実施した。\
県は自衛隊に災害派遣を要請し、車内に残された運転手らに水や毛布を配った。気象庁は19日にかけても大雪が\
続くおそれがあるとして、不要不急の外出を控えるよう呼びかけている。""")

TH = Report("th-flood", "th", "น้ำท่วมเชียงใหม่ ชาวบ้านกว่าสองพันครัวเรือนได้รับผลกระทบ", """\
เชียงใหม่ - ฝนที่ตกหนักต่อเนื่องตลอดสองวันที่ผ่านมา ทำให้ระดับน้ำในแม่น้ำปิงเพิ่มสูงขึ้นอย่างรวดเร็ว \
และไหลเข้าท่วมพื้นที่เศรษฐกิจกลางเมืองเมื่อคืนวันอาทิตย์ สำนักงานป้องกันและบรรเทาสาธารณภัยจังหวัดรายงานว่า \
มีประชาชนได้รับผลกระทบแล้วกว่าสองพันครัวเรือน โดยเฉพาะชุมชนริมน้ำในอำเภอเมืองและอำเภอสารภี
เจ้าหน้าที่ได้ตั้งศูนย์พักพิงชั่วคราวที่โรงเรียนสามแห่ง พร้อมแจกจ่ายอาหารและน้ำดื่ม \
ผู้ว่าราชการจังหวัดกล่าวว่ายังไม่มีรายงานผู้เสียชีวิต แต่ขอให้ประชาชนติดตามประกาศเตือนภัยอย่างใกล้ชิด \
เพราะกรมอุตุนิยมวิทยาคาดว่าจะมีฝนตกหนักอีกระลอกในช่วงกลางสัปดาห์""")

REPORTS = (
    ZH,
    JA,
    TH,
    Report("ar-water", "ar", "افتتاح أكبر محطة لتحلية مياه البحر في المغرب", """\
افتتحت السلطات المغربية، يوم الثلاثاء، محطة جديدة لتحلية مياه البحر قرب مدينة الدار البيضاء، وُصفت بأنها \
الأكبر من نوعها في القارة الأفريقية. وقالت وزارة التجهيز والماء في بيان إن المحطة ستنتج في مرحلتها الأولى نحو \
مئتي مليون متر مكعب من مياه الشرب سنوياً، على أن تتضاعف قدرتها بحلول عام 2030.
ويأتي المشروع في وقت تعاني فيه البلاد من جفاف متواصل منذ ست سنوات أدى إلى تراجع كبير في مخزون السدود. \
وأكد مسؤولون أن المحطة ستعمل جزئياً بالطاقة المتجددة، مما سيخفض تكلفة الإنتاج ويحد من الانبعاثات."""),
    Report("hi-rain", "hi", "मुंबई में भारी बारिश से लोकल ट्रेन सेवाएं प्रभावित", """\
मुंबई में बुधवार सुबह से हो रही लगातार भारी बारिश के कारण शहर के कई निचले इलाकों में पानी भर गया और लोकल \
ट्रेन सेवाएं घंटों तक बाधित रहीं। मौसम विभाग ने अगले अड़तालीस घंटों के लिए ऑरेंज अलर्ट जारी किया है और लोगों से \
ज़रूरी काम न होने पर घर से बाहर न निकलने की अपील की है।
नगर निगम के अधिकारियों ने बताया कि जलभराव वाले स्थानों पर पंप लगाए गए हैं और आपदा प्रबंधन की टीमें तैनात हैं। \
स्कूलों और कॉलेजों में आज छुट्टी घोषित कर दी गई है। कई उड़ानों को भी दूसरे हवाई अड्डों की ओर मोड़ना पड़ा।"""),
    Report("tr-fire", "tr", "İzmir'de orman yangını kontrol altına alındı", """\
İzmir'in Menderes ilçesinde dün öğleden sonra başlayan orman yangını, yaklaşık on iki saatlik çalışmanın \
ardından kontrol altına alındı. Orman Genel Müdürlüğü'nden yapılan açıklamaya göre söndürme çalışmalarına \
dokuz helikopter, iki uçak ve üç yüzden fazla personel katıldı. Yangın nedeniyle tedbir amacıyla iki köyde \
bazı evler boşaltıldı.
İzmir Valisi İsmail Özdemir, yangında can kaybı olmadığını, ancak yaklaşık yüz hektarlık alanın zarar \
gördüğünü söyledi. Yangının çıkış nedenine ilişkin soruşturma başlatıldı. Yetkililer, kuvvetli rüzgâr \
nedeniyle ekiplerin bölgedeki soğutma çalışmalarını gece boyunca sürdüreceğini bildirdi."""),
    Report("de-strike", "de", "Bahnstreik legt Fernverkehr in weiten Teilen Deutschlands lahm", """\
Ein bundesweiter Streik der Lokführergewerkschaft hat am Donnerstag große Teile des Fernverkehrs der \
Deutschen Bahn zum Erliegen gebracht. Nach Angaben des Unternehmens fuhr nur etwa jeder fünfte ICE- und \
Intercity-Zug, im Regionalverkehr fielen je nach Bundesland bis zu zwei Drittel der Verbindungen aus.
An den großen Bahnhöfen in Hamburg, Köln und München blieben viele Reisende ratlos vor den Anzeigetafeln \
stehen. Die Gewerkschaft fordert höhere Löhne und eine kürzere Wochenarbeitszeit für Schichtarbeiter. Ein \
Sprecher der Bahn nannte den Ausstand „völlig unverhältnismäßig“ und kündigte an, einen Notfahrplan bis \
Samstag aufrechtzuerhalten."""),
    Report("el-quake", "el", "Σεισμός 5,3 Ρίχτερ νότια της Κρήτης χωρίς σοβαρές ζημιές", """\
Σεισμική δόνηση μεγέθους 5,3 βαθμών της κλίμακας Ρίχτερ σημειώθηκε τα ξημερώματα της Τρίτης νότια της \
Κρήτης, σύμφωνα με το Γεωδυναμικό Ινστιτούτο του Αστεροσκοπείου Αθηνών. Το επίκεντρο εντοπίστηκε σε \
θαλάσσια περιοχή περίπου τριάντα χιλιόμετρα από την Ιεράπετρα, σε εστιακό βάθος δέκα χιλιομέτρων.
Ο σεισμός έγινε αισθητός σε ολόκληρο το νησί και πολλοί κάτοικοι βγήκαν στους δρόμους. Οι αρχές ανέφεραν \
ότι δεν υπάρχουν τραυματισμοί, ενώ κλιμάκια μηχανικών ελέγχουν σχολεία και δημόσια κτίρια για τυχόν \
ρωγμές. Οι σεισμολόγοι εκτιμούν ότι πρόκειται για τον κύριο σεισμό και καλούν τους πολίτες σε ψυχραιμία."""),
    Report("ru-bridge", "ru", "В Новосибирске открыли новый мост через Обь", """\
В Новосибирске в пятницу торжественно открыли движение по новому мосту через Обь, строительство которого \
продолжалось почти пять лет. Длина переправы вместе с подходами составляет около пяти километров, а \
пропускная способность, по расчётам инженеров, достигает семидесяти тысяч автомобилей в сутки.
Губернатор области заявил, что мост позволит разгрузить центр города и сократить время в пути между левым \
и правым берегом в среднем на двадцать минут. Проект реализован на условиях государственно-частного \
партнёрства, плата за проезд взиматься не будет. В первые дни движение организуют по двум полосам в \
каждом направлении."""),
    Report("lt-hospital", "lt", "Vilniuje atidarytas naujas vaikų ligoninės korpusas", """\
Vilniuje antradienį atidarytas naujas Santaros klinikų vaikų ligoninės korpusas, kurio statyba truko \
beveik trejus metus. Sveikatos apsaugos ministerijos teigimu, naujajame pastate įrengta šimtas dvidešimt \
lovų, modernios operacinės ir atskiras skyrius naujagimiams, kuriems reikalinga intensyvioji priežiūra.
Projektas kainavo apie keturiasdešimt milijonų eurų, didžiąją dalį lėšų skyrė Europos Sąjunga. Gydytojai \
džiaugiasi, kad tėvai galės likti kartu su vaikais specialiai įrengtuose kambariuose. Pirmieji pacientai \
į naująjį korpusą bus perkelti kitą savaitę, o visi skyriai turėtų pradėti darbą iki vasaros pabaigos."""),
    Report("ko-subway", "ko", "서울 지하철 2호선 신호 장애로 출근길 큰 혼잡", """\
24일 오전 서울 지하철 2호선에서 신호 장치 고장이 발생해 출근길 시민들이 큰 불편을 겪었다. 서울교통공사에 \
따르면 오전 7시 40분쯤 강남역과 역삼역 사이 구간의 신호 설비에 문제가 생겨 열차 운행이 약 50분 동안 \
지연됐다.
일부 승객들은 멈춰 선 열차 안에서 20분 넘게 기다려야 했으며, 주요 환승역에는 승강장에 인파가 몰리면서 \
안전요원이 긴급 배치됐다. 공사 측은 오전 8시 30분쯤 복구를 마쳤다고 밝혔으며 정확한 고장 원인을 조사하고 \
있다. 공사는 지연 증명서를 홈페이지에서 발급받을 수 있다고 안내했다."""),
    Report("en-istanbul", "en", "Ferry strike strands commuters in İstanbul", """\
Thousands of commuters were left stranded on both shores of the Bosphorus on Monday after ferry crews in \
İstanbul walked out over unpaid overtime. The city's ferry operator said only four of its usual forty \
routes were running by mid-morning, and queues for the Marmaray rail tunnel stretched out of the stations.
Union spokeswoman Ayşe İnce said crews had not been paid for extra shifts worked during the summer season \
and would stay out until the operator put an offer in writing. The operator said talks would resume on \
Tuesday."""),
)

EDITED = (
    Report("zh-flood-copy", "zh", "清远强降雨致严重内涝 三千余人紧急转移", """\
广州6月12日消息 受连续强降雨影响，广东省清远市多个镇街自11日夜间起出现严重内涝，部分路段积水深达\
一米以上。清远市应急管理局12日上午通报，全市已紧急转移安置群众三千二百余人，目前暂无人员伤亡报告。
气象部门数据显示，过去24小时内，英德市最大累计降雨量达到二百八十毫米，打破当地六月单日降雨纪录。\
消防救援人员正在低洼地区逐户排查，协助行动不便的老人撤离。当地防汛指挥部已启动三级应急响应，提醒市民\
减少外出。"""),
    Report("ja-snow-copy", "ja", "新潟で記録的大雪、関越道で約300台が立ち往生", """\
【新潟】新潟県内では17日から18日にかけて強い冬型の気圧配置が続き、各地で記録的な大雪となった。気象庁に\
よると、魚沼市では18日朝までの24時間に観測史上最多となる112センチの降雪を観測した。
関越自動車道では上り線の一部区間で車両およそ300台が一時立ち往生し、東日本高速道路が通行止めを実施した。\
県は自衛隊に災害派遣を要請し、車内に残された運転手らに水や毛布を配った。気象庁は不要不急の外出を控える\
よう呼びかけている。"""),
    Report("th-flood-copy", "th", "น้ำท่วมเมืองเชียงใหม่ ประชาชนกว่าสองพันครัวเรือนเดือดร้อน", """\
ฝนที่ตกหนักต่อเนื่องตลอดสองวันที่ผ่านมา ทำให้ระดับน้ำในแม่น้ำปิงเพิ่มสูงขึ้นอย่างรวดเร็ว \
และไหลเข้าท่วมพื้นที่เศรษฐกิจกลางเมืองเมื่อคืนวันอาทิตย์ สำนักงานป้องกันและบรรเทาสาธารณภัยจังหวัดรายงานว่า \
มีประชาชนได้รับผลกระทบแล้วกว่าสองพันครัวเรือน โดยเฉพาะชุมชนริมน้ำในอำเภอเมืองและอำเภอสารภี
เจ้าหน้าที่ได้ตั้งศูนย์พักพิงชั่วคราวที่โรงเรียนสามแห่ง พร้อมแจกจ่ายอาหารและน้ำดื่ม \
ผู้ว่าราชการจังหวัดกล่าวว่ายังไม่มีรายงานผู้เสียชีวิต แต่ขอให้ประชาชนติดตามประกาศเตือนภัยอย่างใกล้ชิด"""),
)

OTHER_EVENTS = (
    Report("zh-flood-poyang", "zh", "江西鄱阳湖水位超警戒 沿湖群众连夜加固堤坝", """\
受上游来水和连日降雨影响，江西鄱阳湖星子站水位7月3日超过警戒线，达到二十点一米。九江市和上饶市沿湖多个乡镇\
组织干部群众连夜巡查堤坝，加固险段。
江西省水利厅表示，目前全省有四千多人参与防汛值守，已转移低洼地区群众八百余人。专家预计，受长江高水位顶托，\
湖区水位还将缓慢上涨，防汛形势不容乐观。"""),
    Report("th-flood-ubon", "th", "น้ำท่วมหนักในอุบลราชธานี แม่น้ำมูลเอ่อล้น", """\
แม่น้ำมูลเอ่อล้นเข้าท่วมบ้านเรือนประชาชนในอำเภอวารินชำราบ จังหวัดอุบลราชธานี เมื่อวันศุกร์ที่ผ่านมา \
หลังพายุโซนร้อนทำให้ฝนตกหนักทั่วภาคตะวันออกเฉียงเหนือ ชาวบ้านกว่าห้าร้อยครอบครัวต้องอพยพไปอยู่บนถนนสายหลักและวัดใกล้เคียง
เจ้าหน้าที่ทหารนำเรือท้องแบนเข้าช่วยเหลือผู้สูงอายุและเด็ก กรมชลประทานคาดว่าระดับน้ำจะทรงตัวอีกอย่างน้อยหนึ่งสัปดาห์ \
ส่วนโรงพยาบาลในพื้นที่ได้ย้ายผู้ป่วยขึ้นไปยังชั้นบน"""),
    Report("zh-quake", "zh", "云南漾濞发生5.1级地震 三人受轻伤", """\
中国地震台网正式测定，3月8日凌晨2时14分，云南省大理州漾濞县发生5.1级地震，震源深度十公里。震中附近\
多个村庄震感强烈，部分老旧房屋出现墙体开裂，电力和通信一度中断。
漾濞县政府表示，截至8日中午，当地未接到人员死亡报告，三名村民受轻伤后已送往县医院治疗。省地震局派出\
的工作组已抵达现场，开展灾情核查和余震监测。专家提醒，震区近期仍可能发生较强余震，居民应暂住临时帐篷，\
不要进入受损建筑。"""),
    Report("ja-fire", "ja", "大阪の商店街で火災 木造店舗など5棟焼ける", """\
20日午後3時ごろ、大阪市生野区の商店街で「店から煙が出ている」と近くの住民から119番通報があった。消防車\
など約30台が出動し、火はおよそ4時間後にほぼ消し止められたが、木造2階建ての飲食店など5棟が焼けた。
警察と消防によると、この火事で店にいた70代の男性がのどにやけどを負って病院に運ばれたが、命に別条は\
ないという。出火当時、飲食店は営業の準備中だったとみられ、警察が詳しい原因を調べている。"""),
    Report("th-scam", "th", "ตำรวจทลายแก๊งคอลเซ็นเตอร์ ยึดทรัพย์สินกว่าห้าสิบล้านบาท", """\
สำนักงานตำรวจแห่งชาติแถลงผลการจับกุมเครือข่ายแก๊งคอลเซ็นเตอร์ ซึ่งหลอกลวงผู้เสียหายผ่านโทรศัพท์\
และแอปพลิเคชันส่งข้อความ โดยแอบอ้างเป็นเจ้าหน้าที่ธนาคารและหน่วยงานรัฐ ตำรวจเข้าตรวจค้นเป้าหมายสิบสองจุด\
ในกรุงเทพมหานครและนนทบุรีพร้อมกันเมื่อเช้าวันพุธ จับกุมผู้ต้องหาได้สิบเก้าคน และยึดรถยนต์ บัญชีธนาคาร \
และเงินสดรวมมูลค่ากว่าห้าสิบล้านบาท
ผู้บัญชาการตำรวจสอบสวนกลางระบุว่า เครือข่ายนี้มีผู้เสียหายมากกว่าสามร้อยราย \
และเตือนประชาชนว่าอย่าโอนเงินหรือกดลิงก์จากบุคคลที่ไม่รู้จัก"""),
)

# Reports of the Chinese and Thai events by another outlet, in their own words: not copies.
REWRITES = (
    Report("zh-flood-rewrite", "zh", "清远暴雨引发城区内涝 英德单日降雨破纪录", """\
记者12日从清远市应急管理局获悉，11日晚至12日凌晨，清远遭遇今年以来最强降雨过程，多个镇街低洼路段被淹，\
部分居民楼一楼进水。截至12日中午，当地共转移群众三千二百多人，安置在学校和社区活动中心，未收到人员伤亡报告。
英德市累计雨量最大达二百八十毫米，刷新六月单日降雨纪录。防汛部门已启动三级应急响应，消防人员正协助行动不便\
的老人撤离。气象台提醒，北江水位仍可能上涨，市民应远离河道。"""),
    Report("th-flood-rewrite", "th", "แม่น้ำปิงล้นตลิ่ง น้ำท่วมตัวเมืองเชียงใหม่", """\
ระดับน้ำในแม่น้ำปิงล้นตลิ่งเข้าท่วมตัวเมืองเชียงใหม่เมื่อคืนวันอาทิตย์ หลังฝนตกหนักติดต่อกันสองวัน \
ชุมชนริมน้ำในอำเภอเมืองและอำเภอสารภีได้รับความเดือดร้อนหนักที่สุด \
สำนักงานป้องกันและบรรเทาสาธารณภัยจังหวัดเชียงใหม่ระบุว่า มีผู้ได้รับผลกระทบมากกว่าสองพันครัวเรือน
ทางจังหวัดเปิดศูนย์พักพิงชั่วคราวในโรงเรียนสามแห่ง และแจกจ่ายอาหารกับน้ำดื่มให้ผู้ประสบภัย \
ผู้ว่าราชการจังหวัดยืนยันว่ายังไม่มีผู้เสียชีวิต ขณะที่กรมอุตุนิยมวิทยาเตือนว่าฝนอาจตกหนักอีกครั้งในช่วงกลางสัปดาห์"""),
)


def event_of(key: str) -> str:
    """The event a report tells of: copies and rewrites tell their original's."""
    return key.removesuffix("-copy").removesuffix("-rewrite")

# Page furniture a crawler's whole-page text carries around a report (a site name, a menu, a
# dateline; an editor's credit, share buttons, related headlines, a copyright line), for the
# Chinese and Thai reports: the body must come out without it, and whole.
FURNITURE = {
    "zh": (["南方快讯网", "首页 | 要闻 | 国内 | 国际 | 财经 | 体育 | 娱乐", "2024-06-12 10:35 来源：南方快讯网"],
           ["责任编辑：李明", "分享到：微信 微博", "相关新闻", "广州地铁三号线北延段开通运营",
            "北江流域今年首次编号洪水形成", "版权所有 © 2024 南方快讯网 粤ICP备12345678号"]),
    "th": (["ข่าวเหนือรายวัน", "หน้าแรก ข่าว การเมือง เศรษฐกิจ กีฬา บันเทิง ต่างประเทศ",
            "12 มิ.ย. 2567 10:35 น."],
           ["แชร์ข่าวนี้", "ข่าวที่เกี่ยวข้อง", "กรมชลประทานเร่งระบายน้ำเขื่อนภูมิพล",
            "นายกฯ ลงพื้นที่ตรวจน้ำท่วมภาคเหนือ", "© 2567 ข่าวเหนือรายวัน สงวนลิขสิทธิ์"]),
}


def page_text(report: Report) -> str:
    """``report`` as a crawler's whole visible text: furniture, headline, body, furniture."""
    head, tail = FURNITURE[report.lang]
    return "\n".join([*head, report.title, *report.text.split("\n"), *tail])


def page_html(report: Report) -> str:
    """``report`` as an HTML page: a menu, the article (headline and paragraphs), a footer."""
    paragraphs = "".join(f"<p>{paragraph}</p>" for paragraph in report.text.split("\n"))
    return (f"<html><head><title>{report.title}</title></head><body><nav><a href='/'>1</a> "
            f"<a href='/2'>2</a></nav><article><h1>{report.title}</h1>{paragraphs}</article>"
            "<footer>© 2026</footer></body></html>")
